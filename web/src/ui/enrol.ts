/**
 * First contact and every start after it. Enrol: the responder types (or the link fills
 * in) the operator's one-time code, a display name and a PIN; the app creates the keys
 * here, seals them under the PIN, and spends the code at the relay for this key. Unlock:
 * the PIN opens the keys on later visits. Every refusal says what to do next.
 *
 * @example
 * html`<${EnrolView} db=${db} crypto=${crypto} code=${codeFromUrl} onDone=${start} />`
 */
import { html } from 'htm/preact'
import type { VNode } from 'preact'
import { useState } from 'preact/hooks'
import { displayNameProblem } from '../../../protocol/channel/profile.ts'
import { UsageError } from '../../../protocol/errors.ts'
import type { Crypto } from '../../../protocol/ports.ts'
import { ApiConnection, apiUrl } from '../api.ts'
import { enrolFailure, normaliseCode } from '../enrolment.ts'
import type { Db } from '../idb.ts'
import { checkPin, createIdentity, markEnrolled, unlockIdentity, type Identity } from '../keystore.ts'
import { pinCharsMin } from '../limits.ts'
import { ErrorLine, useAction } from './common.ts'

export interface EnrolProps {
  db: Db
  crypto: Crypto
  /** From the `#enrol=CODE` link, when the responder opened one. */
  code: string
  /** Keys already on the device whose enrolment has not happened yet (an earlier code was refused). */
  me?: Identity
  onDone: (me: Identity, api: ApiConnection) => void
  onForget: () => void
}

export function EnrolView (p: EnrolProps): VNode {
  const [code, setCode] = useState(p.code)
  const [name, setName] = useState('')
  const [pin, setPin] = useState('')
  const [pin2, setPin2] = useState('')
  const [me, setMe] = useState<Identity | undefined>(p.me)
  const [busy, error, run] = useAction()
  const submit = async (ev: Event): Promise<void> => {
    ev.preventDefault()
    await run(async () => {
      if (normaliseCode(code) === '') throw new UsageError('Type the enrolment code the operator gave you.')
      let keys = me
      if (keys === undefined) {
        const problem = displayNameProblem(name.trim())
        if (problem !== undefined) throw new UsageError(`Your name ${problem}.`)
        checkPin(pin)
        if (pin !== pin2) throw new UsageError('The two PINs differ: type the same PIN twice.')
        keys = await createIdentity(p.db, p.crypto, { pin, name: name.trim(), nowMs: Date.now() })
        setMe(keys)
      }
      let api: ApiConnection
      try {
        api = await ApiConnection.open(apiUrl(location), { crypto: p.crypto, user: keys.ed25519, enrol: { code: normaliseCode(code), name: keys.name, xPublicKey: keys.x25519.publicKey } })
      } catch (e) {
        throw new UsageError(enrolFailure(e))
      }
      await markEnrolled(p.db)
      p.onDone(keys, api)
    })
  }
  return html`<main class="narrow" id="main">
    <h1>Join your team's channels</h1>
    <p>The operator of this relay gives you a one-time code (<code>ddil enrol</code>). Your keys are made on this device and never leave it; a PIN locks them here.</p>
    <form class="stack" onSubmit=${submit}>
      <label>Enrolment code
        <input name="code" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" required value=${code} onInput=${(e: Event) => { setCode((e.target as HTMLInputElement).value) }} />
      </label>
      ${me === undefined
        ? html`<label>Your name, as your team will see it
            <input name="name" autocomplete="name" maxlength="64" required value=${name} onInput=${(e: Event) => { setName((e.target as HTMLInputElement).value) }} />
          </label>
          <label>PIN or passphrase (at least ${pinCharsMin} characters)
            <input name="pin" type="password" autocomplete="new-password" minlength=${pinCharsMin} required value=${pin} onInput=${(e: Event) => { setPin((e.target as HTMLInputElement).value) }} />
          </label>
          <label>The same PIN again
            <input name="pin2" type="password" autocomplete="new-password" minlength=${pinCharsMin} required value=${pin2} onInput=${(e: Event) => { setPin2((e.target as HTMLInputElement).value) }} />
          </label>`
        : html`<p>Keys for <strong>${me.name}</strong> are on this device already; only the code is needed.</p>`}
      <${ErrorLine} error=${error} />
      <button type="submit" disabled=${busy}>${busy ? 'Enrolling…' : 'Enrol this device'}</button>
    </form>
    ${me !== undefined ? html`<p><button type="button" class="link" onClick=${p.onForget}>Start again with new keys</button></p>` : null}
  </main>`
}

export function UnlockView (p: { db: Db, crypto: Crypto, name: string, onDone: (me: Identity) => void, onForget: () => void }): VNode {
  const [pin, setPin] = useState('')
  const [busy, error, run] = useAction()
  const submit = async (ev: Event): Promise<void> => {
    ev.preventDefault()
    await run(async () => {
      const me = await unlockIdentity(p.db, p.crypto, pin, Date.now())
      setPin('')
      p.onDone(me)
    })
  }
  return html`<main class="narrow" id="main">
    <h1>Unlock</h1>
    <p>This device holds the keys of <strong>${p.name}</strong>, locked with a PIN.</p>
    <form class="stack" onSubmit=${submit}>
      <label>PIN or passphrase
        <input name="pin" type="password" autocomplete="current-password" required autofocus value=${pin} onInput=${(e: Event) => { setPin((e.target as HTMLInputElement).value) }} />
      </label>
      <${ErrorLine} error=${error} />
      <button type="submit" disabled=${busy}>${busy ? 'Unlocking…' : 'Unlock'}</button>
    </form>
    <p><button type="button" class="link" onClick=${p.onForget}>Forget this device…</button></p>
  </main>`
}
