// Chromium for the browser tests (not a test file of its own).
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const chromiumMissing = existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium); browser tests skipped`

export const launch = (): Promise<Browser> => chromium.launch({
  executablePath: CHROMIUM,
  timeout: 30_000,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
})

/** Every console error, uncaught exception and failed request of a page. */
export const collectErrors = (page: Page): string[] => {
  const errors: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`) })
  page.on('pageerror', (e) => { errors.push(`pageerror: ${e.message}`) })
  page.on('requestfailed', (r) => {
    // Streams cut when the test closes the page are not page errors.
    if (!r.url().endsWith('/events')) errors.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ''}`)
  })
  page.on('dialog', (d) => { errors.push(`dialog: ${d.message()}`); void d.dismiss() })
  return errors
}
