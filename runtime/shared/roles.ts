/** The roles of broker accounts (rules in runtime/leader/broker-acl.ts, overview in SECURITY.md). */
export const ROLES = ['admin', 'client', 'board'] as const
export type Role = typeof ROLES[number]
