/**
 * `text` with every occurrence of a secret's value replaced by `[secret NAME]` (longest values
 * first, so a value inside another is not half-replaced). For what the gateway shows of a
 * handler's failures: a handler that throws with a secret in its message must not put it on a page.
 */
export const redactSecrets = (text: string, env: Readonly<Record<string, string>> | undefined): string => {
  if (env === undefined) return text
  let out = text
  for (const [name, value] of Object.entries(env).sort((a, b) => b[1].length - a[1].length)) {
    if (value.length > 0) out = out.split(value).join(`[secret ${name}]`)
  }
  return out
}
