import { UserError } from '../util/errors.js';

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** UTC `%Y%m%dT%H%M%SZ`, as smartos-live names its platforms. */
export function formatBuildstamp(epochSeconds: number): string {
  return new Date(epochSeconds * 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Seconds since the epoch of a BUILDSTAMP, or undefined when it is not one. */
export function parseBuildstamp(stamp: string): number | undefined {
  const m = STAMP.exec(stamp);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  // Date.UTC rolls 20111332 over into 2012; a real stamp round-trips.
  return formatBuildstamp(ms / 1000) === stamp ? ms / 1000 : undefined;
}

export interface BuildTime {
  buildstamp: string;
  /** Every timestamp written into outputs (archive members, image nodes). */
  epoch: number;
}

/**
 * BUILDSTAMP and output timestamps (docs/assembly.md): `--buildstamp` wins, then
 * SOURCE_DATE_EPOCH, then the current time. Timestamps come from
 * SOURCE_DATE_EPOCH when it is set, else from the BUILDSTAMP.
 */
export function resolveBuildTime(
  explicit: string | undefined,
  sourceDateEpoch: string | undefined,
  now: () => number = Date.now,
): BuildTime {
  let sde: number | undefined;
  if (sourceDateEpoch !== undefined && sourceDateEpoch !== '') {
    if (!/^\d+$/.test(sourceDateEpoch)) {
      throw new UserError(
        `SOURCE_DATE_EPOCH must be a whole number of seconds, not "${sourceDateEpoch}"`,
      );
    }
    sde = Number(sourceDateEpoch);
  }
  if (explicit !== undefined) {
    const epoch = parseBuildstamp(explicit);
    if (epoch === undefined) {
      throw new UserError(
        `BUILDSTAMP "${explicit}" is not a UTC stamp like 20111209T201508Z (%Y%m%dT%H%M%SZ)`,
        { exitCode: 2 },
      );
    }
    return { buildstamp: explicit, epoch: sde ?? epoch };
  }
  const epoch = sde ?? Math.floor(now() / 1000);
  return { buildstamp: formatBuildstamp(epoch), epoch };
}
