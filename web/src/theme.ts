/**
 * Two colour themes: "night" (dark, dim, for operations in the dark) and "day" (black on
 * white at high contrast, readable in sunlight). The first visit follows the system's
 * preference; the choice is kept in localStorage (not secret) and applied before the
 * first paint by main.ts.
 *
 * @example
 * applyTheme()          // at start-up
 * toggleTheme()         // the header's ◐ button
 */
const storageKey = 'ddil-theme'
export type Theme = 'night' | 'day'

export function currentTheme (): Theme {
  const saved = localStorage.getItem(storageKey)
  if (saved === 'night' || saved === 'day') return saved
  return matchMedia('(prefers-color-scheme: light)').matches ? 'day' : 'night'
}

export function applyTheme (theme: Theme = currentTheme()): void {
  document.documentElement.dataset.theme = theme
  document.querySelector('meta[name="theme-color"]')?.setAttribute('content', theme === 'night' ? '#0b0f14' : '#ffffff')
}

export function toggleTheme (): void {
  const next: Theme = currentTheme() === 'night' ? 'day' : 'night'
  localStorage.setItem(storageKey, next)
  applyTheme(next)
}
