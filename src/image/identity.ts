import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * The image's own users and groups, read from its staged etc/passwd and
 * etc/group (never the build host's): `name:x:uid:...` and `name:x:gid:...`.
 */
export class IdentityTable {
  private readonly byName: Map<string, number>;
  private readonly byId = new Map<number, string>();

  constructor(
    readonly kind: 'user' | 'group',
    names: Map<string, number>,
  ) {
    this.byName = names;
    // The first name listed for an id is the one `ls` would show.
    for (const [name, id] of names) if (!this.byId.has(id)) this.byId.set(id, name);
  }

  idOf(name: string): number | undefined {
    return this.byName.get(name);
  }

  nameOf(id: number): string | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byName.size;
  }

  /** Reads a passwd- or group-style file; a missing file gives an empty table. */
  static async read(kind: 'user' | 'group', file: string | undefined): Promise<IdentityTable> {
    const names = new Map<string, number>();
    if (file) {
      try {
        const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
        for await (const line of lines) addLine(names, line);
      } catch {
        // An unreadable or absent file resolves no names; every owner then warns.
      }
    }
    return new IdentityTable(kind, names);
  }

  /** The same from the text of such a file (read from an image). */
  static fromText(kind: 'user' | 'group', text: string): IdentityTable {
    const names = new Map<string, number>();
    for (const line of text.split(/\r?\n/)) addLine(names, line);
    return new IdentityTable(kind, names);
  }
}

/** One `name:x:id:...` line into `names` (the first line for a name wins). */
function addLine(names: Map<string, number>, line: string): void {
  const fields = line.split(':');
  if (fields.length < 3 || fields[0] === '' || line.startsWith('#')) return;
  const id = Number(fields[2]);
  if (Number.isInteger(id) && id >= 0 && !names.has(fields[0])) names.set(fields[0], id);
}
