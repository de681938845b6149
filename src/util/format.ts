/** Sizes for people: 1536 -> "1.5 KiB"; negative deltas keep their sign. */
export function humanBytes(bytes: number): string {
  if (bytes < 0) return `-${humanBytes(-bytes)}`;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A copy of `text` that shares no memory with the string it was cut from.
 * V8 keeps a substring's whole parent alive: a path matched out of a line
 * of a 64 KiB read chunk would pin the chunk for as long as it is kept.
 */
export function ownString(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}
