/**
 * Small pieces every screen uses: re-rendering when the session changes, a dialog that
 * traps nothing and works with the keyboard, an action button that shows what went wrong,
 * times in words, and the QR code of a text (as SVG, drawn on the device).
 *
 * @example
 * useSession(session)                                  // re-render on every change
 * html`<${Dialog} title="Send as FLASH?" onClose=${close}>…<//>`
 */
import { html } from 'htm/preact'
import type { ComponentChildren, VNode } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import QRCode from 'qrcode'
import { clockTickMs } from '../limits.ts'
import { errorText, type FieldSession } from '../session.ts'

/** Re-renders the calling component when the session changes (at most once per frame) and every clock tick. */
export function useSession (s: FieldSession): void {
  const [, setVersion] = useState(0)
  useEffect(() => {
    let frame = 0
    const bump = (): void => {
      if (frame !== 0) return
      frame = requestAnimationFrame(() => { frame = 0; setVersion(v => v + 1) })
    }
    const off = s.onChange(bump)
    const tick = setInterval(bump, clockTickMs)
    return () => { off(); clearInterval(tick); cancelAnimationFrame(frame) }
  }, [s])
}

/** A modal dialog (the native <dialog>): Escape closes it, focus goes to its first control. */
export function Dialog (p: { title: string, onClose: () => void, children: ComponentChildren }): VNode {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const d = ref.current
    if (d !== null && !d.open) d.showModal()
  }, [])
  return html`<dialog ref=${ref} class="dialog" aria-labelledby="dialog-title" onClose=${p.onClose} onCancel=${(e: Event) => { e.preventDefault(); p.onClose() }}>
    <h2 id="dialog-title">${p.title}</h2>
    ${p.children}
  </dialog>`
}

/**
 * A form's submit handler that disables the form while `act` runs and shows its error
 * under the form: `const [busy, error, run] = useAction()`.
 */
export function useAction (): [boolean, string, (act: () => Promise<void>) => Promise<boolean>] {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState('')
  const run = async (act: () => Promise<void>): Promise<boolean> => {
    setBusy(true); setError('')
    try { await act(); return true } catch (e) { setError(errorText(e)); return false } finally { setBusy(false) }
  }
  return [busy, error, run]
}

export function ErrorLine (p: { error: string }): VNode | null {
  return p.error === '' ? null : html`<p class="error" role="alert">${p.error}</p>`
}

export function clockTime (ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
}

export function dateTime (ms: number): string {
  const d = new Date(ms)
  return `${d.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${clockTime(ms)}`
}

/** "12 min", "3 h", "2 d": a duration for people. */
export function duration (ms: number): string {
  const m = Math.max(0, Math.round(ms / 60_000))
  if (m < 1) return 'less than a minute'
  if (m < 60) return `${m} min`
  const h = Math.round(m / 60)
  return h < 48 ? `${h} h` : `${Math.round(h / 24)} d`
}

/** The QR code of `text` as an SVG element's markup, generated here (no network). */
export function QrCode (p: { text: string, label: string }): VNode {
  const [svg, setSvg] = useState('')
  const [error, setError] = useState('')
  useEffect(() => {
    QRCode.toString(p.text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, color: { dark: '#000000', light: '#ffffff' } })
      .then(s => { setSvg(s); setError('') }, (e: unknown) => { setSvg(''); setError(errorText(e)) })
  }, [p.text])
  if (error !== '') return html`<p class="error">The QR code could not be drawn (${error}): use the text instead.</p>`
  return html`<figure class="qr" role="img" aria-label=${p.label} dangerouslySetInnerHTML=${{ __html: svg }}></figure>`
}

/** A button that copies `text` and says so (or says to select it by hand where the clipboard is refused). */
export function CopyButton (p: { text: string, label: string }): VNode {
  const [said, setSaid] = useState(p.label)
  const copy = (): void => {
    navigator.clipboard.writeText(p.text).then(() => { setSaid('Copied') }, () => { setSaid('Copy refused: select the text') })
  }
  return html`<button type="button" class="secondary" onClick=${copy}>${said}</button>`
}
