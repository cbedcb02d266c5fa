/**
 * The unlocked app's frame: a header that always says whether the relay is reachable
 * (and since when, and what waits on the device), the theme switch, and the route from
 * the URL's hash. On a phone one pane at a time; from 900 px the channel list stays on
 * the left. An arriving flash message shows as a banner that screen readers announce.
 *
 *   #/                  channels          #/new            create a channel
 *   #/c/<ref>           messages          #/c/<ref>/board  situation board
 *   #/c/<ref>/members   members           #/about          relay and own key
 *
 * @example
 * html`<${Shell} s=${session} onLock=${lock} onForget=${forget} />`
 */
import { html } from 'htm/preact'
import type { VNode } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { parseRoute, type Route } from '../route.ts'
import type { FieldSession, FlashNotice } from '../session.ts'
import { AboutView } from './about.ts'
import { BoardView } from './board.ts'
import { ChannelList, NewChannel } from './channels.ts'
import { MessagesView } from './channel.ts'
import { clockTime, duration, useSession } from './common.ts'
import { MembersView } from './members.ts'
import { notifyFlash } from '../notify.ts'
import { currentTheme, toggleTheme } from '../theme.ts'

function useRoute (): Route {
  const [route, setRoute] = useState(parseRoute(location.hash))
  useEffect(() => {
    const on = (): void => { setRoute(parseRoute(location.hash)) }
    addEventListener('hashchange', on)
    return () => { removeEventListener('hashchange', on) }
  }, [])
  return route
}

function LinkStatus (p: { s: FieldSession }): VNode {
  const { s } = p
  const st = s.state
  const waiting = s.waitingMessages()
  const kept = waiting === 0 ? '' : ` · ${waiting} message${waiting === 1 ? '' : 's'} waiting on this device`
  if (st.state === 'online') return html`<p class="link-state online" role="status"><span class="dot" aria-hidden="true"></span>Online${kept}</p>`
  if (st.state === 'connecting') return html`<p class="link-state" role="status"><span class="dot" aria-hidden="true"></span>Connecting to the relay…</p>`
  if (st.state === 'refused') return html`<p class="link-state refused" role="alert"><span class="dot" aria-hidden="true"></span>${st.reason}</p>`
  return html`<p class="link-state offline" role="status"><span class="dot" aria-hidden="true"></span>
    <span>Offline since ${clockTime(st.sinceMs)} (${duration(s.nowMs() - st.sinceMs)}): the relay is unreachable${kept}. Messages you post are kept here and sent when it is back.</span>
    <button type="button" class="small" onClick=${() => { s.retry() }}>Retry now</button></p>`
}

function FlashBanner (p: { notice: FlashNotice | undefined, onClose: () => void }): VNode | null {
  if (p.notice === undefined) return null
  const n = p.notice
  return html`<div class="flash-banner" role="alert">
    <strong>FLASH</strong> from ${n.author} in ${n.channelName}: ${n.text}
    <a class="button small" href=${`#/c/${n.channel}`} onClick=${p.onClose}>Show</a>
    <button type="button" class="small secondary" onClick=${p.onClose}>Dismiss</button>
  </div>`
}

interface ShellProps { s: FieldSession, onLock: () => void, onForget: () => void }

function Pane (p: ShellProps & { route: Route }): VNode {
  const { s, route } = p
  switch (route.view) {
    case 'new': return html`<${NewChannel} s=${s} />`
    case 'about': return html`<${AboutView} s=${s} onLock=${p.onLock} onForget=${p.onForget} />`
    case 'messages': return html`<${MessagesView} s=${s} hex=${route.hex} />`
    case 'board': return html`<${BoardView} s=${s} hex=${route.hex} />`
    case 'members': return html`<${MembersView} s=${s} hex=${route.hex} />`
    case 'list': return html`<div class="placeholder"><p>Pick a channel, or create one.</p></div>`
  }
}

export function Shell (p: ShellProps): VNode {
  const { s } = p
  useSession(s)
  const route = useRoute()
  const [flash, setFlash] = useState<FlashNotice | undefined>(undefined)
  const [theme, setTheme] = useState(currentTheme())
  useEffect(() => s.onFlash(n => { setFlash(n); notifyFlash(n) }), [s])
  const listOnly = route.view === 'list'
  return html`<div class=${`shell ${listOnly ? 'at-list' : 'at-pane'}`}>
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href="#/" aria-label="ddil: channels">ddil</a>
      <${LinkStatus} s=${s} />
      <nav class="top-actions" aria-label="App">
        <button type="button" class="plain" aria-label="Switch between night and daylight colours" onClick=${() => { toggleTheme(); setTheme(currentTheme()) }}>${theme === 'night' ? 'Day' : 'Night'}</button>
        <a class="button plain" href="#/about">About</a>
      </nav>
    </header>
    <${FlashBanner} notice=${flash} onClose=${() => { setFlash(undefined) }} />
    <div class="columns">
      <aside class="list-pane" aria-label="Channels"><${ChannelList} s=${s} current=${'hex' in route ? route.hex : ''} /></aside>
      <main class="main-pane" id="main"><${Pane} s=${s} route=${route} onLock=${p.onLock} onForget=${p.onForget} /></main>
    </div>
  </div>`
}
