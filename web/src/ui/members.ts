/**
 * Who is in a channel, with the names they chose and their roles, and what this user's
 * role lets them do: add someone by pasting their `ddil1:` key (or scanning its QR code
 * where the browser has a barcode detector and a camera), remove someone (a new key epoch
 * follows, which the removed member never receives), change a role. Also the name this
 * user shows in the channel, and each member's organisation (#29); when the relay's operator
 * cut an organisation off, its users can be removed in one step, so the channel re-keys
 * without them.
 *
 * @example
 * html`<${MembersView} s=${session} hex=${channelHex} />`
 */
import { html } from 'htm/preact'
import type { VNode } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { displayNameCharsMax, orgDocumentBytesMax } from '../../../protocol/limits.ts'
import type { Role } from '../../../protocol/channel/roles.ts'
import type { FieldSession } from '../session.ts'
import { memberRows, organisationName, rolesToAdd, wasRemoved, type MemberRow } from '../views.ts'
import { formatUserKey } from '../user-key.ts'
import { userCertificateKeys } from '../../../protocol/org/member.ts'
import { toHex } from '../../../protocol/bytes.ts'
import { UsageError } from '../../../protocol/errors.ts'
import { ChannelHeader } from './channel.ts'
import { Dialog, ErrorLine, useAction } from './common.ts'
import { ScanButton } from './scan.ts'

function Member (p: { s: FieldSession, hex: string, m: MemberRow }): VNode {
  const { s, hex, m } = p
  const [confirm, setConfirm] = useState(false)
  const [busy, error, run] = useAction()
  const label = m.name === '' ? `Member ${m.ref.slice(0, 8)}` : m.name
  return html`<li class="member">
    <div class="member-who"><strong>${label}${m.me ? ' (you)' : ''}</strong> <span class=${`role ${m.role}`}>${m.role}</span>${m.org === undefined ? null : html` <span class=${m.org.ok ? 'member-org' : 'member-org bad'} title="the organisation whose certificate vouches for them">${m.org.name}${m.org.problem === undefined ? '' : ` (${m.org.problem})`}</span>`} <code class="key-ref" title="first bytes of their key">${m.ref}</code></div>
    ${m.roles.length > 0 || m.mayRemove ? html`<div class="member-actions">
      ${m.roles.length > 0 ? html`<label class="inline">Role
        <select name="role" disabled=${busy} aria-label=${`Role of ${label}`} onChange=${(e: Event) => { const r = (e.target as HTMLSelectElement).value as Role; void run(async () => { await s.setRole(hex, m.ed, r) }) }}>
          <option value=${m.role} selected>${m.role}</option>
          ${m.roles.map(r => html`<option value=${r}>${r}</option>`)}
        </select></label>` : null}
      ${m.mayRemove ? html`<button type="button" class="danger small" disabled=${busy} onClick=${() => { setConfirm(true) }}>Remove</button>` : null}
    </div>` : null}
    <${ErrorLine} error=${error} />
    ${confirm ? html`<${Dialog} title=${`Remove ${label}?`} onClose=${() => { setConfirm(false) }}>
      <p>${label} will not receive new messages, and relays refuse what they post from now on. This cannot be undone for this key.</p>
      <div class="row-end">
        <button type="button" class="secondary" onClick=${() => { setConfirm(false) }}>Cancel</button>
        <button type="button" class="danger" onClick=${() => { setConfirm(false); void run(async () => { await s.removeMember(hex, m.ed) }) }}>Remove</button>
      </div>
    <//>` : null}
  </li>`
}

function certificateIn (name: string, bytes: Uint8Array): ReturnType<typeof userCertificateKeys> {
  try { return userCertificateKeys(bytes) } catch (e) { throw new UsageError(`${name} is not a user certificate: ${(e as Error).message}`) }
}

function AddMember (p: { s: FieldSession, hex: string, roles: Role[] }): VNode {
  const [key, setKey] = useState('')
  const [certificate, setCertificate] = useState<{ bytes: Uint8Array, org: string, name: string } | undefined>(undefined)
  const [role, setRole] = useState<Role>(p.roles.includes('member') ? 'member' : p.roles[0])
  const [history, setHistory] = useState(false)
  const [busy, error, run] = useAction()
  const submit = async (ev: Event): Promise<void> => {
    ev.preventDefault()
    if (await run(async () => { await p.s.addMember(p.hex, key, role, history, certificate?.bytes) })) { setKey(''); setCertificate(undefined) }
  }
  // A certificate file names the user's keys: it fills the key in, and rides on the add (#29).
  const chooseCertificate = (ev: Event): void => {
    const file = (ev.target as HTMLInputElement).files?.[0]
    if (file === undefined) return
    void run(async () => {
      if (file.size > orgDocumentBytesMax) throw new UsageError(`${file.name} is ${file.size} bytes: not a certificate (at most ${orgDocumentBytesMax})`)
      const bytes = new Uint8Array(await file.arrayBuffer())
      const c = certificateIn(file.name, bytes)
      setKey(formatUserKey(p.s.crypto, c.subject.slice(0, 32), c.subject.slice(32)))
      setCertificate({ bytes, org: toHex(c.org), name: c.name })
    })
  }
  return html`<form class="stack add-member" onSubmit=${submit}>
    <h2>Add a member</h2>
    <label>Their key (<code>ddil1:…</code>, from their app's About page or <code>ddil whoami</code>)
      <textarea name="member-key" rows="3" required spellcheck="false" autocapitalize="off" value=${key} onInput=${(e: Event) => { setKey((e.target as HTMLTextAreaElement).value) }}></textarea>
    </label>
    <${ScanButton} onKey=${(k: string) => { setKey(k); setCertificate(undefined) }} />
    <label>Or their certificate from their organisation (a <code>.cert</code> file, if they have one)
      <input type="file" name="member-certificate" accept=".cert,application/octet-stream" onChange=${chooseCertificate} />
    </label>
    ${certificate === undefined ? null : html`<p class="muted">Certificate for ${certificate.name}, from the organisation ${organisationName(p.s, certificate.org)}: relays check it, and members see whose user they are.</p>`}
    <label>Role
      <select name="new-role" value=${role} onChange=${(e: Event) => { setRole((e.target as HTMLSelectElement).value as Role) }}>
        ${p.roles.map(r => html`<option value=${r}>${r}</option>`)}
      </select>
    </label>
    <label class="check"><input type="checkbox" name="share-history" checked=${history} onChange=${(e: Event) => { setHistory((e.target as HTMLInputElement).checked) }} />
      Let them read the earlier messages still kept (otherwise they read from now on)</label>
    <${ErrorLine} error=${error} />
    <button type="submit" disabled=${busy}>${busy ? 'Adding…' : 'Add member'}</button>
  </form>`
}

function MyName (p: { s: FieldSession, hex: string, current: string }): VNode {
  const [name, setName] = useState(p.current)
  const [busy, error, run] = useAction()
  const submit = async (ev: Event): Promise<void> => {
    ev.preventDefault()
    await run(async () => { await p.s.setName(p.hex, name.trim()) })
  }
  return html`<form class="add-line" onSubmit=${submit}>
    <label>Your name in this channel <input name="display-name" required maxlength=${displayNameCharsMax} value=${name} onInput=${(e: Event) => { setName((e.target as HTMLInputElement).value) }} /></label>
    <button type="submit" disabled=${busy}>Save</button>
    <${ErrorLine} error=${error} />
  </form>`
}

/**
 * Members of organisations the relay's operator cut off, that this user may remove: one button
 * removes them all (each removal seals the next key epoch without them).
 */
function CutOff (p: { s: FieldSession, hex: string, rows: MemberRow[] }): VNode | null {
  const { s, hex } = p
  const [busy, error, run] = useAction()
  const gone = p.rows.filter(r => r.org?.cutOff === true && r.mayRemove)
  if (gone.length === 0) return null
  const names = [...new Set(gone.map(r => r.org?.name ?? ''))]
  const orgs = names.join(', ')
  return html`<div class="notice bad" role="alert">
    <p>${orgs} ${names.length === 1 ? 'was' : 'were'} cut off by your relay's operator. ${gone.length} member${gone.length === 1 ? ' here is their user' : 's here are their users'}: remove ${gone.length === 1 ? 'them' : 'them all'} so that new messages use a key they do not have.</p>
    <button type="button" class="danger" disabled=${busy} onClick=${() => { void run(async () => { for (const m of gone) await s.removeMember(hex, m.ed) }) }}>Remove ${orgs}'s members</button>
    <${ErrorLine} error=${error} />
  </div>`
}

export function MembersView (p: { s: FieldSession, hex: string }): VNode {
  const { s, hex } = p
  // The relay's organisations, asked again when the view opens: a partner may have been cut off since the device connected.
  useEffect(() => { s.refreshRelayInfo().catch(() => { /* offline: what the device knew stands */ }) }, [hex])
  const rows = memberRows(s, hex)
  const roles = rolesToAdd(s, hex)
  const me = rows.find(r => r.me)
  return html`<section class="members">
    <${ChannelHeader} s=${s} hex=${hex} tab="members" />
    <h2>${rows.length} member${rows.length === 1 ? '' : 's'}</h2>
    <${CutOff} s=${s} hex=${hex} rows=${rows} />
    <ul class="member-list">${rows.map(m => html`<${Member} key=${m.ref} s=${s} hex=${hex} m=${m} />`)}</ul>
    ${roles.length > 0 ? html`<${AddMember} s=${s} hex=${hex} roles=${roles} />` : wasRemoved(s, hex) ? null : html`<p class="muted">Your role does not let you add members.</p>`}
    ${me === undefined ? null : html`<${MyName} s=${s} hex=${hex} current=${me.name === '' ? s.me.name : me.name} />`}
  </section>`
}
