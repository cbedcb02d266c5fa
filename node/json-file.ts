/**
 * The first steps of reading our small versioned JSON files (user.key, protected keys):
 * JSON, an object, and the expected `"type"`. Each caller then checks its version and keys.
 *
 * @example
 * const record = parseTypedJson(text, 'ddil-user-key', why => new ConfigError(`user.key is corrupt (${why})`))
 */

/** `text` as a JSON object whose `"type"` is `type`; otherwise throws `corrupt(why)`. */
export function parseTypedJson (text: string, type: string, corrupt: (why: string) => Error, notJson = 'not JSON'): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw corrupt(notJson)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw corrupt('not a JSON object')
  const record = parsed as Record<string, unknown>
  if (record.type !== type) throw corrupt(`"type" is not "${type}"`)
  return record
}
