/**
 * Notifications for arriving flash messages, where the browser allows them: only after
 * the user turned them on (About), only in a secure context, through the service worker
 * when there is one (Android shows no page-made notifications). The in-app banner shows
 * every flash message regardless.
 *
 * @example
 * await enableNotifications()   // asks the browser; returns what it said
 * notifyFlash(notice)
 */
import type { FlashNotice } from './session.ts'

export function notificationsSupported (): boolean {
  return typeof Notification !== 'undefined'
}

export function notificationPermission (): NotificationPermission | 'unsupported' {
  return notificationsSupported() ? Notification.permission : 'unsupported'
}

export async function enableNotifications (): Promise<NotificationPermission | 'unsupported'> {
  if (!notificationsSupported()) return 'unsupported'
  return await Notification.requestPermission()
}

export function notifyFlash (n: FlashNotice): void {
  if (notificationPermission() !== 'granted') return
  const title = `FLASH · ${n.channelName}`
  const options: NotificationOptions = { body: `${n.author}: ${n.text}`, tag: `flash-${n.channel}`, requireInteraction: true, data: { channel: n.channel } }
  const worker = 'serviceWorker' in navigator ? navigator.serviceWorker.controller : null
  if (worker !== null) {
    void navigator.serviceWorker.ready.then(reg => reg.showNotification(title, options))
    return
  }
  const shown = new Notification(title, options)
  shown.onclick = () => { focus(); location.hash = `#/c/${n.channel}`; shown.close() }
}
