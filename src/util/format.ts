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
