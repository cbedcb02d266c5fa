/**
 * The channel's situation board: name and topic, status lines, key facts and tasks, one
 * encrypted Yjs document merged at the endpoints, so two people editing at once (or
 * during a partition) both keep their edits. Every change is one small update sent like
 * a message; edits from others appear as they arrive.
 *
 * @example
 * html`<${BoardView} s=${session} hex=${channelHex} />`
 */
import { html } from 'htm/preact'
import type { VNode } from 'preact'
import { useState } from 'preact/hooks'
import { fromHex } from '../../../protocol/bytes.ts'
import { boardTextCharsMax, type BoardEditor } from '../../../protocol/channel/board.ts'
import type { FieldSession } from '../session.ts'
import { postingProblem } from '../views.ts'
import { ChannelHeader } from './channel.ts'
import { ErrorLine, useAction } from './common.ts'

/** A one-field form that applies `edit` with the typed text, then clears. */
function AddLine (p: { label: string, name: string, onAdd: (text: string) => Promise<void> }): VNode {
  const [text, setText] = useState('')
  const [busy, error, run] = useAction()
  const submit = async (ev: Event): Promise<void> => {
    ev.preventDefault()
    if (await run(async () => { await p.onAdd(text.trim()) })) setText('')
  }
  return html`<form class="add-line" onSubmit=${submit}>
    <label>${p.label} <input name=${p.name} required maxlength=${boardTextCharsMax} value=${text} onInput=${(e: Event) => { setText((e.target as HTMLInputElement).value) }} /></label>
    <button type="submit" disabled=${busy}>Add</button>
    <${ErrorLine} error=${error} />
  </form>`
}

function StatusForm (p: { onSet: (key: string, value: string) => Promise<void> }): VNode {
  const [key, setKey] = useState('')
  const [value, setValue] = useState('')
  const [busy, error, run] = useAction()
  const submit = async (ev: Event): Promise<void> => {
    ev.preventDefault()
    if (await run(async () => { await p.onSet(key.trim(), value.trim()) })) { setKey(''); setValue('') }
  }
  return html`<form class="add-line" onSubmit=${submit}>
    <label>What <input name="status-key" required maxlength=${boardTextCharsMax} placeholder="Substation 4" value=${key} onInput=${(e: Event) => { setKey((e.target as HTMLInputElement).value) }} /></label>
    <label>Status <input name="status-value" required maxlength=${boardTextCharsMax} placeholder="on generator" value=${value} onInput=${(e: Event) => { setValue((e.target as HTMLInputElement).value) }} /></label>
    <button type="submit" disabled=${busy}>Set</button>
    <${ErrorLine} error=${error} />
  </form>`
}

export function BoardView (p: { s: FieldSession, hex: string }): VNode {
  const { s, hex } = p
  const [, error, run] = useAction()
  if (s.cc.state(fromHex(hex)) === undefined) return html`<section><a class="back" href="#/">← Channels</a><p>This channel is not on this device.</p></section>`
  const board = s.cc.board(fromHex(hex))
  const readOnly = postingProblem(s, hex)
  const edit = async (fn: (b: BoardEditor) => void): Promise<void> => { await s.editBoard(hex, fn) }
  const toggle = (i: number, done: boolean): void => {
    void run(async () => { await edit(b => { b.setDone(i, done) }) })
  }
  const statuses = Object.entries(board.status)
  return html`<section class="board">
    <${ChannelHeader} s=${s} hex=${hex} tab="board" />
    ${readOnly === undefined ? null : html`<p class="notice">${readOnly} The board is shown as last received.</p>`}
    <${ErrorLine} error=${error} />
    <h2>Status</h2>
    ${statuses.length === 0 ? html`<p class="muted">No status lines yet.</p>` : html`<dl class="status-lines">${statuses.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`}
    ${readOnly === undefined ? html`<${StatusForm} onSet=${(k: string, v: string) => edit(b => { b.setStatus(k, v) })} />` : null}
    <h2>Tasks</h2>
    ${board.tasks.length === 0 ? html`<p class="muted">No tasks yet.</p>` : html`<ul class="tasks">${board.tasks.map((t, i) => html`<li>
      <label class=${t.done ? 'done' : ''}><input type="checkbox" checked=${t.done} disabled=${readOnly !== undefined} onChange=${(e: Event) => { toggle(i, (e.target as HTMLInputElement).checked) }} /> ${t.text}</label></li>`)}</ul>`}
    ${readOnly === undefined ? html`<${AddLine} label="New task" name="task" onAdd=${(t: string) => edit(b => { b.addTask(t) })} />` : null}
    <h2>Key facts</h2>
    ${board.facts.length === 0 ? html`<p class="muted">No facts yet.</p>` : html`<ul class="facts">${board.facts.map(f => html`<li>${f}</li>`)}</ul>`}
    ${readOnly === undefined ? html`<${AddLine} label="New fact" name="fact" onAdd=${(f: string) => edit(b => { b.addFact(f) })} />` : null}
    ${readOnly === undefined ? html`<details class="rename"><summary>Rename or change the topic</summary>
      <${AddLine} label="Name" name="board-name" onAdd=${(n: string) => edit(b => { b.setName(n) })} />
      <${AddLine} label="Topic" name="board-topic" onAdd=${(t: string) => edit(b => { b.setTopic(t) })} />
    </details>` : null}
  </section>`
}
