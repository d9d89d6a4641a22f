/**
 * Protocol negotiation. Each board announces in its `state` the protocol versions it speaks
 * (`proto`, e.g. [1]); a board that predates the field speaks [1]. The `state` message itself
 * stays readable by every version (it is the handshake). The leader talks to a board in the
 * highest version both speak, and refuses a board with none in common instead of mis-parsing it.
 * Rule: a release speaks its own version and the one before it, so during a rollout a board
 * one version behind the gateway (or ahead of it) keeps working.
 */
export const SPOKEN_PROTOCOLS: readonly number[] = Object.freeze([1])

/** The versions a board speaks: what it announced, or [1] when it announced nothing. */
export const boardProtocols = (announced: readonly number[] | undefined): readonly number[] =>
  announced === undefined || announced.length === 0 ? [1] : announced

/** The highest version both sides speak, or null when they share none. */
export const negotiate = (announced: readonly number[] | undefined, ours: readonly number[] = SPOKEN_PROTOCOLS): number | null => {
  let best: number | null = null
  for (const p of boardProtocols(announced)) if (ours.includes(p) && (best === null || p > best)) best = p
  return best
}
