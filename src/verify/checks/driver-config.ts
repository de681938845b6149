/**
 * driver-config: the image's driver configuration (etc/name_to_major,
 * etc/driver_aliases, etc/minor_perm, and each drv/<driver>.conf) against the driver
 * modules it ships (docs/verify.md):
 *
 * - each file read as illumos reads it; its format errors at its own line;
 * - a driver shipped (`*\/drv/<name>` or `*\/drv/amd64/<name>` under
 *   kernel/, usr/kernel/, platform/<p>/kernel/) that has an alias, a
 *   minor_perm line or a .conf but no major number: the kernel ignores its
 *   aliases (parse_aliases skips a driver without one) and cannot attach it;
 * - a major number given to two drivers, a driver given two;
 * - an alias claimed by two drivers.
 *
 * Lines for drivers the image does not ship are normal (illumos lists
 * every driver it knows): they are counted and listed, never findings.
 */
import { parseDriverAliases, type AliasLine } from '../../formats/driver-config/driver-aliases.js';
import { parseDriverConf } from '../../formats/driver-config/driver-conf.js';
import type { ConfigError } from '../../formats/driver-config/kobj-lex.js';
import { parseMinorPerm, type MinorPermLine } from '../../formats/driver-config/minor-perm.js';
import { parseNameToMajor, type MajorLine } from '../../formats/driver-config/name-to-major.js';
import { compareBytes } from '../../manifest/path.js';
import type { DriverConfigSummary, Finding } from '../types.js';
import { imageFinding, type ImageView } from '../image-view.js';
import { readImageText, regularFile, yieldToLoop } from './boot-image.js';

export const NAME_TO_MAJOR = 'etc/name_to_major';
export const DRIVER_ALIASES = 'etc/driver_aliases';
export const MINOR_PERM = 'etc/minor_perm';

/** The most a driver configuration file may have to be read (each is a few KB). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Drivers listed in the summary's `unshipped`, and lines listed for each. */
const MAX_UNSHIPPED = 1000;
const MAX_LINES_LISTED = 50;

const DRIVER_FILE = /^(?:kernel|usr\/kernel|platform\/[^/]+\/kernel)\/drv\/(?:amd64\/)?([^/]+)$/;

/** Every file of the image under a drv/ directory, by driver: modules and .conf files. */
function driverFiles(view: ImageView) {
  const modules = new Map<string, string>();
  const confs = new Map<string, string[]>();
  for (const [path, entry] of view.entries) {
    const m = DRIVER_FILE.exec(path);
    if (!m || entry.type === 'd') continue;
    if (m[1].endsWith('.conf')) {
      const name = m[1].slice(0, -'.conf'.length);
      if (!path.includes('/amd64/')) confs.set(name, [...(confs.get(name) ?? []), path]);
    } else if (regularFile(view, path) !== undefined) {
      // The 64-bit module is the one named (the one the kernel loads here).
      if (!modules.has(m[1]) || path.includes('/amd64/')) modules.set(m[1], path);
    }
  }
  return { modules, confs };
}

interface Parsed<T> {
  entries: T[];
  errors: ConfigError[];
}

/** Reads and parses one configuration file; its problems go to `out`. */
async function readConfig<T>(
  view: ImageView,
  path: string,
  parse: (text: string) => Parsed<T>,
  out: Finding[],
): Promise<{ present: boolean; entries: T[] }> {
  const read = await readImageText(view, path, MAX_CONFIG_BYTES);
  if (read.kind === 'absent') return { present: false, entries: [] };
  if (read.kind === 'too-large') {
    out.push(imageFinding(view, 'driver-config', path, read.message));
    return { present: true, entries: [] };
  }
  const parsed = parse(read.text);
  for (const e of parsed.errors) {
    out.push(imageFinding(view, 'driver-config', path, `line ${e.line}: ${e.message}`));
  }
  return { present: true, entries: parsed.entries };
}

export interface DriverConfigInput {
  view: ImageView;
  /** Filled with what the check read beyond its findings (the JSON report's). */
  summary: DriverConfigSummary;
}

export async function* driverConfig(input: DriverConfigInput): AsyncGenerator<Finding, number> {
  const { view, summary } = input;
  const out: Finding[] = [];
  const { modules, confs } = driverFiles(view);
  const majors = await readConfig(view, NAME_TO_MAJOR, parseNameToMajor, out);
  const aliases = await readConfig(view, DRIVER_ALIASES, parseDriverAliases, out);
  const perms = await readConfig(view, MINOR_PERM, parseMinorPerm, out);
  for (const paths of confs.values()) {
    for (const path of paths) {
      await readConfig(view, path, (text) => ({ entries: [], ...parseDriverConf(text) }), out);
      await yieldToLoop();
    }
  }
  yield* out;
  if (!majors.present && modules.size > 0) {
    yield {
      kind: 'driver-config',
      path: NAME_TO_MAJOR,
      message: `the image ships ${modules.size} driver(s) but no ${NAME_TO_MAJOR}: the kernel panics at boot ("read_binding_file: ${NAME_TO_MAJOR} file not found")`,
    };
  }
  yield* duplicates(view, majors.entries, aliases.entries);
  const lines = linesByDriver(majors.entries, aliases.entries, perms.entries, confs);
  const hasMajor = new Set(majors.entries.map((e) => e.driver));
  for (const [driver, module] of modules) {
    const named = lines.get(driver)?.filter((l) => !l.startsWith(NAME_TO_MAJOR)) ?? [];
    if (hasMajor.has(driver) || named.length === 0) continue;
    yield imageFinding(
      view,
      'driver-config',
      module,
      `driver ${driver} has no line in ${NAME_TO_MAJOR}, yet is named in ${listLines(named)}: without a major number the kernel cannot attach it (and ignores its aliases)`,
    );
  }
  fillSummary(summary, modules, lines, {
    majors: majors.entries.length,
    aliases: aliases.entries.length,
    minorPerms: perms.entries.length,
    confFiles: [...confs.values()].reduce((n, p) => n + p.length, 0),
  });
  return majors.entries.length + aliases.entries.length + perms.entries.length + summary.confFiles;
}

const listLines = (lines: string[]) =>
  lines.length <= 4
    ? lines.join(', ')
    : `${lines.slice(0, 4).join(', ')} and ${lines.length - 4} more`;

/** Majors given twice, drivers given two majors, aliases claimed by two drivers. */
function* duplicates(
  view: ImageView,
  majors: readonly MajorLine[],
  aliases: readonly AliasLine[],
): Generator<Finding> {
  const seenMajor = new Map<number, MajorLine>();
  const seenDriver = new Map<string, MajorLine>();
  for (const e of majors) {
    const driver = seenDriver.get(e.driver);
    const major = seenMajor.get(e.major);
    const clash = driver
      ? `line ${e.line}: driver ${e.driver} is given major ${e.major}, and at line ${driver.line} major ${driver.major}`
      : major && major.driver !== e.driver
        ? `line ${e.line}: major ${e.major} is given to ${e.driver}, and at line ${major.line} to ${major.driver}`
        : undefined;
    if (clash !== undefined) yield imageFinding(view, 'driver-config', NAME_TO_MAJOR, clash);
    if (!driver) seenDriver.set(e.driver, e);
    if (!major) seenMajor.set(e.major, e);
  }
  const claimed = new Map<string, AliasLine>();
  for (const e of aliases) {
    const first = claimed.get(e.alias);
    if (!first) claimed.set(e.alias, e);
    else if (first.driver !== e.driver) {
      yield imageFinding(
        view,
        'driver-config',
        DRIVER_ALIASES,
        `line ${e.line}: alias "${e.alias}" is claimed by ${e.driver}, and at line ${first.line} by ${first.driver}`,
      );
    }
  }
}

/** Every line naming each driver, as `file:line` (a .conf file by its path). */
function linesByDriver(
  majors: readonly MajorLine[],
  aliases: readonly AliasLine[],
  perms: readonly MinorPermLine[],
  confs: ReadonlyMap<string, string[]>,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (driver: string, where: string) => {
    const list = out.get(driver);
    if (list) list.push(where);
    else out.set(driver, [where]);
  };
  for (const e of majors) add(e.driver, `${NAME_TO_MAJOR}:${e.line}`);
  for (const e of aliases) add(e.driver, `${DRIVER_ALIASES}:${e.line}`);
  for (const e of perms) add(e.driver, `${MINOR_PERM}:${e.line}`);
  for (const [driver, paths] of confs) for (const path of paths) add(driver, path);
  return out;
}

function fillSummary(
  summary: DriverConfigSummary,
  modules: ReadonlyMap<string, string>,
  lines: ReadonlyMap<string, string[]>,
  counts: Pick<DriverConfigSummary, 'majors' | 'aliases' | 'minorPerms' | 'confFiles'>,
): void {
  Object.assign(summary, counts, { shippedDrivers: modules.size });
  const unshipped = [...lines].filter(([driver]) => !modules.has(driver));
  unshipped.sort(([a], [b]) => compareBytes(a, b));
  summary.unshippedDrivers = unshipped.length;
  summary.unshippedLines = unshipped.reduce((n, [, l]) => n + l.length, 0);
  summary.unshipped = unshipped.slice(0, MAX_UNSHIPPED).map(([driver, l]) => ({
    driver,
    lines: l.slice(0, MAX_LINES_LISTED),
    ...(l.length > MAX_LINES_LISTED ? { moreLines: l.length - MAX_LINES_LISTED } : {}),
  }));
}

/** A summary with nothing read yet. */
export function emptyDriverSummary(): DriverConfigSummary {
  return {
    shippedDrivers: 0,
    majors: 0,
    aliases: 0,
    minorPerms: 0,
    confFiles: 0,
    unshippedDrivers: 0,
    unshippedLines: 0,
    unshipped: [],
  };
}
