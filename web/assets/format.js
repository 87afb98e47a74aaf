// Sizes and times as operators read them.

import { lang } from './i18n.js';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** Decimal units like the server and the guide: 12.5 MB, 20 MB, 512 B. */
export function humanSize(bytes) {
  if (bytes === null || bytes === undefined || Number.isNaN(Number(bytes))) return '—';
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${value} B`;
  const digits = value >= 100 || value % 1 < 0.05 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** An RFC 3339 time in the browser's local time: 2026-01-31 14:30:25. */
export function localTime(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** A whole percentage, clamped to 0–100. */
export function percent(value) {
  const n = Math.round(Number(value) || 0);
  return Math.min(100, Math.max(0, n));
}

/** A number with the language's digit grouping. */
export function count(n) {
  return new Intl.NumberFormat(lang() === 'en' ? 'en-US' : 'ja-JP').format(Number(n) || 0);
}
