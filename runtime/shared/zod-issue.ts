import type { z } from 'zod'

/** The first problem zod found, as `where` (a dotted path, or "(root)") and `message`. */
export const firstIssue = (error: z.ZodError): { where: string, message: string } => {
  const issue = error.issues[0]
  return { where: issue !== undefined && issue.path.length > 0 ? issue.path.join('.') : '(root)', message: issue?.message ?? 'invalid' }
}
