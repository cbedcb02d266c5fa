/**
 * The channel list (flash first, then unread, then by name; unread counts as badges) and
 * the form that creates a channel. Channel names are end-to-end encrypted: a channel the
 * device has not read yet shows its reference until its board arrives.
 *
 * @example
 * html`<${ChannelList} s=${session} current=${hex} />`
 */
import { html } from 'htm/preact'
import type { VNode } from 'preact'
import { useState } from 'preact/hooks'
import { boardTextCharsMax } from '../../../protocol/channel/board.ts'
import type { FieldSession } from '../session.ts'
import { channelSummaries } from '../views.ts'
import { ErrorLine, useAction } from './common.ts'

export function ChannelList (p: { s: FieldSession, current: string }): VNode {
  const rows = channelSummaries(p.s)
  return html`<section class="channel-list">
    <div class="row-between"><h1>Channels</h1><a class="button" href="#/new">New channel</a></div>
    ${rows.length === 0
      ? html`<p class="muted">No channels yet. Create one, or ask a channel owner to add your key (under About).</p>`
      : html`<ul class="channels">${rows.map(c => html`<li key=${c.hex}>
          <a class=${`channel-row${c.hex === p.current ? ' current' : ''}${c.flash > 0 ? ' has-flash' : ''}`} href=${`#/c/${c.hex}`} aria-current=${c.hex === p.current ? 'page' : undefined}>
            <span class="channel-name">${c.name}</span>
            <span class="channel-meta">${c.removed ? 'you were removed' : `${c.role ?? '…'} · ${c.members} member${c.members === 1 ? '' : 's'}`}${c.topic === '' ? '' : ` · ${c.topic}`}</span>
            ${c.unread > 0 ? html`<span class=${`badge${c.flash > 0 ? ' flash' : ''}`} aria-label=${`${c.unread} unread${c.flash > 0 ? `, ${c.flash} flash` : ''}`}>${c.unread}</span>` : null}
          </a></li>`)}</ul>`}
  </section>`
}

export function NewChannel (p: { s: FieldSession }): VNode {
  const [name, setName] = useState('')
  const [topic, setTopic] = useState('')
  const [busy, error, run] = useAction()
  const submit = async (ev: Event): Promise<void> => {
    ev.preventDefault()
    await run(async () => {
      const hex = await p.s.createChannel(name.trim(), topic.trim())
      location.hash = `#/c/${hex}/members`
    })
  }
  return html`<section class="narrow">
    <a class="back" href="#/">← Channels</a>
    <h1>New channel</h1>
    <p>You will own it. Its name, topic, board and messages are encrypted: relays carry them without reading them.</p>
    <form class="stack" onSubmit=${submit}>
      <label>Name <input name="channel-name" required maxlength=${boardTextCharsMax} value=${name} onInput=${(e: Event) => { setName((e.target as HTMLInputElement).value) }} /></label>
      <label>Topic (optional) <input name="topic" maxlength=${boardTextCharsMax} value=${topic} onInput=${(e: Event) => { setTopic((e.target as HTMLInputElement).value) }} /></label>
      <${ErrorLine} error=${error} />
      <button type="submit" disabled=${busy}>${busy ? 'Creating…' : 'Create channel'}</button>
    </form>
  </section>`
}
