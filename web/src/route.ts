/**
 * The app's places, in the URL's hash (so the browser's back button and bookmarks work,
 * and nothing about them reaches the relay):
 *
 *   #/                  channels          #/new            create a channel
 *   #/c/<ref>           messages          #/c/<ref>/board  situation board
 *   #/c/<ref>/members   members           #/about          relay and own key
 *
 * @example
 * parseRoute('#/c/0123456789abcdef/board')   // { view: 'board', hex: '0123456789abcdef' }
 */

export type Route =
  | { view: 'list' } | { view: 'new' } | { view: 'about' }
  | { view: 'messages' | 'board' | 'members', hex: string }

export function parseRoute (hash: string): Route {
  const m = /^#\/c\/([0-9a-f]{16})(?:\/(board|members))?$/.exec(hash)
  if (m !== null) return { view: (m[2] ?? 'messages') as 'messages' | 'board' | 'members', hex: m[1] }
  if (hash === '#/new') return { view: 'new' }
  if (hash === '#/about') return { view: 'about' }
  return { view: 'list' }
}
