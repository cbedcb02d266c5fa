/**
 * The app's stages: enrol (no keys here yet, or keys whose code was refused), unlock (keys
 * here, locked by the PIN), and the unlocked shell with a running session. Locking stops
 * the session and forgets the keys in memory; forgetting the device deletes everything
 * this app keeps in the browser, after a confirmation.
 *
 * @example
 * render(html`<${App} db=${db} crypto=${crypto} enrolCode=${code} />`, root)
 */
import { html } from 'htm/preact'
import type { VNode } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import type { Crypto } from '../../../protocol/ports.ts'
import { apiUrl, type ApiConnection } from '../api.ts'
import { deleteDatabase, type Db } from '../idb.ts'
import { loadSealedIdentity, type Identity } from '../keystore.ts'
import { FieldSession, errorText } from '../session.ts'
import { Dialog } from './common.ts'
import { EnrolView, UnlockView } from './enrol.ts'
import { Shell } from './shell.ts'

type Stage =
  | { stage: 'loading' }
  | { stage: 'enrol', me?: Identity }
  | { stage: 'unlock', name: string, enrolled: boolean }
  | { stage: 'main', session: FieldSession }
  | { stage: 'failed', error: string }

export function App (p: { db: Db, crypto: Crypto, enrolCode: string }): VNode {
  const [stage, setStage] = useState<Stage>({ stage: 'loading' })
  const [forgetting, setForgetting] = useState(false)
  const look = (): void => {
    loadSealedIdentity(p.db).then(r => {
      setStage(r === undefined ? { stage: 'enrol' } : { stage: 'unlock', name: r.name, enrolled: r.enrolled })
    }, (e: unknown) => { setStage({ stage: 'failed', error: errorText(e) }) })
  }
  useEffect(look, [])
  const start = (me: Identity, first?: ApiConnection): void => {
    FieldSession.start({ db: p.db, crypto: p.crypto, me, url: apiUrl(location), nowMs: () => Date.now(), first })
      .then(session => { setStage({ stage: 'main', session }) }, (e: unknown) => { setStage({ stage: 'failed', error: errorText(e) }) })
  }
  const lock = (): void => {
    if (stage.stage === 'main') stage.session.stop()
    look()
  }
  const forget = async (): Promise<void> => {
    if (stage.stage === 'main') stage.session.stop()
    p.db.close()
    await deleteDatabase()
    location.replace(location.pathname)
  }
  const confirmForget = forgetting
    ? html`<${Dialog} title="Forget this device?" onClose=${() => { setForgetting(false) }}>
        <p>This deletes your keys and everything this app keeps in this browser, including messages still waiting to be sent. To use ddil here again you need a new enrolment code.</p>
        <div class="row-end">
          <button type="button" class="secondary" onClick=${() => { setForgetting(false) }}>Cancel</button>
          <button type="button" class="danger" onClick=${() => { forget().catch((e: unknown) => { setStage({ stage: 'failed', error: errorText(e) }) }) }}>Forget this device</button>
        </div>
      <//>`
    : null
  const askForget = (): void => { setForgetting(true) }
  switch (stage.stage) {
    case 'loading': return html`<main class="boot" role="status"><p>Opening this device's storage…</p></main>`
    case 'failed': return html`<main class="boot" role="alert"><h1>The app could not start</h1><p>${stage.error}</p><p><button type="button" onClick=${() => { location.reload() }}>Try again</button></p></main>`
    case 'enrol': return html`<${EnrolView} db=${p.db} crypto=${p.crypto} code=${p.enrolCode} me=${stage.me} onDone=${start} onForget=${askForget} />${confirmForget}`
    case 'unlock': return html`<${UnlockView} db=${p.db} crypto=${p.crypto} name=${stage.name} onForget=${askForget}
        onDone=${(me: Identity) => { if (stage.enrolled) start(me); else setStage({ stage: 'enrol', me }) }} />${confirmForget}`
    case 'main': return html`<${Shell} s=${stage.session} onLock=${lock} onForget=${askForget} />${confirmForget}`
  }
}
