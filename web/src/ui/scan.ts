/**
 * Scanning a member's key from the QR code their app shows, with the camera, where the
 * browser has the Barcode Detection API (Chrome on Android and macOS, Safari 17+ behind a
 * flag); elsewhere the button is not offered and the key is pasted. The video never leaves
 * the device; the camera stops when a key is found or the dialog closes.
 *
 * @example
 * html`<${ScanButton} onKey=${text => setKey(text)} />`
 */
import { html } from 'htm/preact'
import type { VNode } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { Dialog } from './common.ts'
import { userKeyPrefix } from '../user-key.ts'

interface Detector { detect (source: HTMLVideoElement): Promise<Array<{ rawValue: string }>> }
type DetectorClass = new (options: { formats: string[] }) => Detector

/** How often a video frame is looked at, ms. */
const scanEveryMs = 250

function detectorClass (): DetectorClass | undefined {
  return (globalThis as { BarcodeDetector?: DetectorClass }).BarcodeDetector
}

function Scanner (p: { onKey: (text: string) => void, onClose: () => void }): VNode {
  const video = useRef<HTMLVideoElement>(null)
  const [problem, setProblem] = useState('')
  useEffect(() => {
    let stream: MediaStream | undefined
    let timer: ReturnType<typeof setInterval> | undefined
    const Detector = detectorClass() as DetectorClass
    const detector = new Detector({ formats: ['qr_code'] })
    navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } }).then(s => {
      stream = s
      const v = video.current as HTMLVideoElement
      v.srcObject = s
      return v.play()
    }).then(() => {
      timer = setInterval(() => {
        detector.detect(video.current as HTMLVideoElement).then(found => {
          const key = found.map(f => f.rawValue).find(t => t.startsWith(userKeyPrefix))
          if (key !== undefined) { p.onKey(key); p.onClose() }
        }, (e: Error) => { setProblem(`The camera picture could not be read: ${e.message}`) })
      }, scanEveryMs)
    }).catch((e: Error) => { setProblem(`The camera is not available: ${e.message}. Paste the key instead.`) })
    return () => { clearInterval(timer); for (const t of stream?.getTracks() ?? []) t.stop() }
  }, [])
  return html`<${Dialog} title="Scan a member's key" onClose=${p.onClose}>
    <p>Point the camera at the QR code on their About page.</p>
    ${problem === '' ? html`<video ref=${video} class="scanner" muted playsinline></video>` : html`<p class="error" role="alert">${problem}</p>`}
    <div class="row-end"><button type="button" class="secondary" onClick=${p.onClose}>Close</button></div>
  <//>`
}

export function ScanButton (p: { onKey: (text: string) => void }): VNode | null {
  const [open, setOpen] = useState(false)
  if (detectorClass() === undefined || navigator.mediaDevices?.getUserMedia === undefined) return null
  return html`<div>
    <button type="button" class="secondary" onClick=${() => { setOpen(true) }}>Scan a QR code</button>
    ${open ? html`<${Scanner} onKey=${p.onKey} onClose=${() => { setOpen(false) }} />` : null}
  </div>`
}
