/**
 * About: the relay this app talks to, with the SHA-256 fingerprint of its certificate (to
 * compare with what the operator reads from `ddil start` or `ddil enrol`), this user's key
 * as text and as a QR code (what a channel owner pastes or scans to add them), flash
 * notifications, and locking or forgetting this device.
 *
 * @example
 * html`<${AboutView} s=${session} />`
 */
import { html } from 'htm/preact'
import type { VNode } from 'preact'
import { useState } from 'preact/hooks'
import { clientApiVersion } from '../../../node/api/wire.ts'
import { enableNotifications, notificationPermission } from '../notify.ts'
import { offlineReady } from '../worker-client.ts'
import type { FieldSession } from '../session.ts'
import { CopyButton, dateTime, QrCode } from './common.ts'

/** The relay's certificate fingerprint from its status reply (`web.fingerprint`), when it has an HTTPS listener. */
export function relayFingerprint (s: FieldSession): string | undefined {
  const web = s.relayInfo?.web as { fingerprint?: unknown } | undefined
  return typeof web?.fingerprint === 'string' ? web.fingerprint : undefined
}

function Notifications (): VNode {
  const [permission, setPermission] = useState(notificationPermission())
  if (permission === 'unsupported') return html`<p>This browser shows no notifications here; flash messages still show as a banner in the app.</p>`
  if (permission === 'granted') return html`<p>Flash messages raise a notification.</p>`
  if (permission === 'denied') return html`<p>Notifications are blocked for this address in the browser's settings; flash messages show as a banner in the app.</p>`
  return html`<p><button type="button" onClick=${() => { void enableNotifications().then(setPermission) }}>Notify me of flash messages</button></p>`
}

export function AboutView (p: { s: FieldSession, onLock?: () => void, onForget?: () => void }): VNode {
  const { s } = p
  const st = s.state
  const fingerprint = relayFingerprint(s)
  return html`<section class="about narrow">
    <a class="back" href="#/">← Channels</a>
    <h1>About</h1>
    <h2>Your key</h2>
    <p>A channel owner adds you with this key. It is public; the private half never leaves this device.</p>
    <p class="key" id="my-key">${s.me.publicKey}</p>
    <div class="row"><${CopyButton} text=${s.me.publicKey} label="Copy key" /></div>
    <${QrCode} text=${s.me.publicKey} label="Your key as a QR code" />
    <h2>Relay</h2>
    <dl class="facts-list">
      <div><dt>Address</dt><dd>${location.host}</dd></div>
      <div><dt>Node id</dt><dd><code>${st.state === 'online' ? st.nodeId : '(not connected)'}</code></dd></div>
      <div><dt>Certificate fingerprint (SHA-256)</dt><dd><code class="fingerprint">${fingerprint ?? (location.protocol === 'https:' ? '(not reported yet)' : 'none: this page came over plain HTTP on the relay itself')}</code></dd></div>
      <div><dt>Client API</dt><dd>version ${clientApiVersion}</dd></div>
    </dl>
    ${location.protocol === 'https:' ? html`<p>Compare the fingerprint with the one the operator reads from <code>ddil start</code> or <code>ddil enrol</code>: if they differ, you are not talking to your relay.</p>` : null}
    <h2>Notifications</h2>
    <${Notifications} />
    <h2>This device</h2>
    <p>${s.waitingMessages()} message${s.waitingMessages() === 1 ? '' : 's'} waiting to be sent. ${offlineReady() ? 'The app is kept in this browser: it reloads without the relay.' : 'The app is not kept in this browser (no service worker here): reloading needs the relay.'}</p>
    ${s.problems.length === 0 ? null : html`<details><summary>Recent problems (${s.problems.length})</summary><ul class="problems">${s.problems.map(x => html`<li>${x}</li>`)}</ul></details>`}
    <div class="row">
      ${p.onLock === undefined ? null : html`<button type="button" class="secondary" onClick=${p.onLock}>Lock now</button>`}
      ${p.onForget === undefined ? null : html`<button type="button" class="danger" onClick=${p.onForget}>Forget this device…</button>`}
    </div>
    <p class="muted">Page loaded ${dateTime(performance.timeOrigin)}.</p>
  </section>`
}
