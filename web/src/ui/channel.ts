/**
 * One channel: its header and tabs, and the message list with the composer. Flash
 * messages stand out (colour, border, a word, not colour alone) and sending one asks for
 * confirmation; each precedence shows doctrine's handling target. Own messages show their
 * state as it changes; what cannot be shown as text says why (sealed to others, waiting
 * for keys, refused as tampered). A file (#23) shows its name, type, size and caption, a
 * progress bar while its pieces arrive, and once whole an image inline or a link to save it
 * (blob: URLs, revoked when the item leaves the screen); the composer attaches a file, its
 * text the caption. Everything on screen counts as read.
 *
 * @example
 * html`<${MessagesView} s=${session} hex=${channelHex} />`
 */
import { html } from 'htm/preact'
import type { VNode } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { Precedence } from '../../../protocol/envelope.ts'
import { fileCaptionBytesMax } from '../../../protocol/limits.ts'
import { formatBytes } from '../../../protocol/units.ts'
import { isInlineImage } from '../files.ts'
import { ttlChoicesSeconds, ttlDefaultSeconds } from '../limits.ts'
import type { FileView, MessageItem } from '../messages.ts'
import type { FieldSession } from '../session.ts'
import { allowedPrecedence, authorName, channelName, channelTopic, handlingTargets, ownStatus, postingProblem, precedenceLabel, textBytesMax, wasRemoved } from '../views.ts'
import { clockTime, Dialog, duration, ErrorLine, useAction } from './common.ts'

export function ChannelHeader (p: { s: FieldSession, hex: string, tab: 'messages' | 'board' | 'members' }): VNode {
  const { s, hex } = p
  const topic = channelTopic(s, hex)
  const refusal = s.channels.get(hex)?.refused
  const tab = (id: 'messages' | 'board' | 'members', label: string, href: string): VNode =>
    html`<a class="tab" href=${href} aria-current=${p.tab === id ? 'page' : undefined}>${label}</a>`
  return html`<header class="channel-head">
    <a class="back" href="#/">← Channels</a>
    <h1>${channelName(s, hex)}</h1>
    ${topic === '' ? null : html`<p class="topic">${topic}</p>`}
    <nav class="tabs" aria-label="Channel">
      ${tab('messages', 'Messages', `#/c/${hex}`)}${tab('board', 'Board', `#/c/${hex}/board`)}${tab('members', 'Members', `#/c/${hex}/members`)}
    </nav>
    ${wasRemoved(s, hex) ? html`<p class="notice bad" role="alert">You were removed from this channel: you can no longer read new messages or post. What you received before stays readable here.</p>` : null}
    ${refusal === undefined ? null : html`<p class="notice bad" role="alert">The relay refused a change you made here: ${refusal}. ${/authors\.allow/.test(refusal) ? 'It only carries channels created by people its operator allows: ask the operator to add your key (under About) to authors.allow.' : ''}</p>`}
  </header>`
}

function Body (p: { s: FieldSession, hex: string, m: MessageItem }): VNode {
  const { m } = p
  if (m.kind === 'text') return html`<p class="text">${m.text}</p>`
  if (m.kind === 'file' && m.file !== undefined) return html`<${FileBody} s=${p.s} hex=${p.hex} id=${m.id} f=${m.file} />`
  if (m.kind === 'refused') return html`<p class="text refused">⚠ Refused, not shown: this message failed its checks (${m.reason}). It may have been tampered with.</p>`
  if (m.kind === 'unreadable') return html`<p class="text sealed">🔒 A message you cannot read: ${m.reason}.</p>`
  return html`<p class="text sealed">⏳ Waiting for the keys to read this message (${m.reason}).</p>`
}

/** A blob: URL for as long as the component shows `blob`, revoked after. */
function useBlobUrl (blob: Blob | undefined): string | undefined {
  const [url, setUrl] = useState<string | undefined>(undefined)
  useEffect(() => {
    if (blob === undefined) { setUrl(undefined); return }
    const made = URL.createObjectURL(blob)
    setUrl(made)
    return () => { URL.revokeObjectURL(made) }
  }, [blob])
  return url
}

function FileBody (p: { s: FieldSession, hex: string, id: string, f: FileView }): VNode {
  const { s, hex, id, f } = p
  const url = useBlobUrl(f.state === 'complete' ? s.fileBlob(id) : undefined)
  const [busy, error, run] = useAction()
  const title = f.form === 'text' ? 'Long message' : f.name
  const held = `${formatBytes(f.heldBytes)} of ${formatBytes(f.size)}`
  return html`<div class="file">
    <p class="file-name"><strong>${title}</strong> <small>${f.form === 'text' ? '' : `${f.mediaType} · `}${formatBytes(f.size)}</small></p>
    ${f.caption === undefined ? null : html`<p class="text caption">${f.caption}</p>`}
    ${url !== undefined && isInlineImage(f.mediaType) ? html`<img class="file-image" src=${url} alt=${f.caption ?? f.name} />` : null}
    ${url !== undefined ? html`<a class="button secondary" href=${url} download=${f.name}>Save ${f.name}</a>` : null}
    ${f.state === 'arriving' || f.state === 'not-fetched'
      ? html`<p class="file-progress"><progress max=${f.size} value=${f.heldBytes} aria-label=${`${title}: ${held} here`}></progress> <small>${held} here${f.state === 'arriving' ? '…' : ''}</small></p>`
      : null}
    ${f.state === 'not-fetched'
      ? html`<button type="button" class="secondary" disabled=${busy} onClick=${() => { void run(async () => { await s.fetchFile(hex, id) }) }}>Fetch the rest (${formatBytes(f.size - f.heldBytes)})</button>`
      : null}
    ${f.state === 'failed' ? html`<p class="text refused">⚠ Not shown: it does not match what its sender signed (${f.problem ?? 'hash check failed'}).</p>` : null}
    <${ErrorLine} error=${error} />
  </div>`
}

function Message (p: { s: FieldSession, hex: string, m: MessageItem }): VNode {
  const { s, hex, m } = p
  const left = m.expiresAtMs - s.nowMs()
  const status = m.mine && (m.kind === 'text' || m.kind === 'file') ? ownStatus(s, hex, m) : undefined
  return html`<li class=${`msg p${m.precedence}${m.mine ? ' mine' : ''}`} data-id=${m.id}>
    <div class="msg-head">
      <span class="author">${authorName(s, hex, m.authorRef)}</span>
      <span class=${`prec p${m.precedence}`}>${precedenceLabel(m.precedence)}</span>
      <time datetime=${new Date(m.hlc.ms).toISOString()}>${clockTime(m.hlc.ms)}</time>
      <span class="expiry">${left > 0 ? `expires in ${duration(left)}` : 'expired'}</span>
    </div>
    <${Body} s=${s} hex=${hex} m=${m} />
    ${status === undefined ? null : html`<p class=${`status ${status.tone}`}>${status.text}</p>`}
  </li>`
}

export function MessagesView (p: { s: FieldSession, hex: string }): VNode {
  const { s, hex } = p
  const entry = s.channels.get(hex)
  const items = entry?.messages.sorted() ?? []
  const end = useRef<HTMLDivElement>(null)
  const count = items.length
  useEffect(() => { end.current?.scrollIntoView({ block: 'end', behavior: 'instant' }) }, [count, hex])
  useEffect(() => {
    const mark = (): void => { if (document.visibilityState === 'visible') void s.markRead(hex) }
    mark()
    document.addEventListener('visibilitychange', mark)
    return () => { document.removeEventListener('visibilitychange', mark) }
  }, [hex, count])
  if (entry === undefined) return html`<section><a class="back" href="#/">← Channels</a><p>This channel is not on this device.</p></section>`
  return html`<section class="channel">
    <${ChannelHeader} s=${s} hex=${hex} tab="messages" />
    ${items.length === 0 ? html`<p class="muted">No messages yet.</p>` : null}
    <ol class="messages" aria-label="Messages" aria-live="polite">${items.map(m => html`<${Message} key=${m.id} s=${s} hex=${hex} m=${m} />`)}</ol>
    <${Composer} s=${s} hex=${hex} />
    <div ref=${end}></div>
  </section>`
}

function Composer (p: { s: FieldSession, hex: string }): VNode {
  const { s, hex } = p
  const [text, setText] = useState('')
  const [precedence, setPrecedence] = useState<Precedence>(Precedence.routine)
  const [ttl, setTtl] = useState(ttlDefaultSeconds)
  const [confirming, setConfirming] = useState(false)
  const [attachment, setAttachment] = useState<File | undefined>(undefined)
  const [busy, error, run] = useAction()
  const problem = postingProblem(s, hex)
  if (problem !== undefined) return html`<p class="notice composer-closed">${problem}</p>`
  const allowed = allowedPrecedence(s, hex)
  const send = async (): Promise<void> => {
    setConfirming(false)
    const sent = await run(async () => {
      if (attachment === undefined) { await s.send(hex, text, precedence, ttl); return }
      const content = new Uint8Array(await attachment.arrayBuffer())
      await s.sendFile(hex, { name: attachment.name, mediaType: attachment.type, content, ...(text.trim() === '' ? {} : { caption: text }) }, precedence, ttl)
    })
    if (sent) { setText(''); setAttachment(undefined); setPrecedence(Precedence.routine) }
  }
  const submit = (ev: Event): void => {
    ev.preventDefault()
    if (precedence === Precedence.flash) setConfirming(true)
    else void send()
  }
  return html`<form class=${`composer p${precedence}`} onSubmit=${submit}>
    <fieldset class="precedence">
      <legend>Precedence (handling target)</legend>
      ${allowed.map(pr => html`<label class=${`choice p${pr}`}>
        <input type="radio" name="precedence" value=${pr} checked=${precedence === pr} onChange=${() => { setPrecedence(pr) }} />
        <span>${precedenceLabel(pr)}</span> <small>${handlingTargets[pr]}</small>
      </label>`)}
    </fieldset>
    <label class="message-box">Message
      <textarea name="message" rows="2" maxlength=${attachment === undefined ? textBytesMax(s, hex) : fileCaptionBytesMax} required=${attachment === undefined} value=${text} onInput=${(e: Event) => { setText((e.target as HTMLTextAreaElement).value) }}
        onKeyDown=${(e: KeyboardEvent) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit(e) }}></textarea>
    </label>
    ${attachment === undefined ? null
      : html`<p class="attached"><span><strong>${attachment.name}</strong> · ${formatBytes(attachment.size)} (the message is its caption)</span>
          <button type="button" class="secondary" onClick=${() => { setAttachment(undefined) }}>Remove</button></p>`}
    <${ErrorLine} error=${error} />
    <div class="send-row">
      <label class="ttl">Keep for
        <select name="ttl" value=${ttl} onChange=${(e: Event) => { setTtl(Number((e.target as HTMLSelectElement).value)) }}>
          ${ttlChoicesSeconds.map(t => html`<option value=${t}>${duration(t * 1000)}</option>`)}
        </select>
      </label>
      ${attachment === undefined
        ? html`<label class="button secondary attach">File<input type="file" name="file" aria-label="Attach a file" onChange=${(e: Event) => { setAttachment((e.target as HTMLInputElement).files?.[0]) }} /></label>`
        : null}
      <button type="submit" class=${precedence === Precedence.flash ? 'danger' : ''} disabled=${busy}>${precedence === Precedence.flash ? 'Send FLASH…' : 'Send'}</button>
    </div>
    ${confirming ? html`<${Dialog} title="Send as FLASH?" onClose=${() => { setConfirming(false) }}>
      <p>Flash is for what cannot wait: life, safety, an immediate threat. Doctrine's handling target is <strong>10 minutes</strong>, and every member is alerted.</p>
      <blockquote>${attachment === undefined ? text : `${attachment.name}${text === '' ? '' : `: ${text}`}`}</blockquote>
      <div class="row-end">
        <button type="button" class="secondary" onClick=${() => { setConfirming(false) }}>Cancel</button>
        <button type="button" class="danger" onClick=${() => { void send() }}>Send FLASH</button>
      </div>
    <//>` : null}
  </form>`
}
