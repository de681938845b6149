/** pass3.c: every directory reachable from the root, its `..` naming the directory it is in. */
import { ROOTINO } from '../layout.js';
import { STATE, type Findings } from './image.js';
import type { Inodes } from './pass1.js';
import type { Dirs } from './pass2.js';

export function pass3(inodes: Inodes, dirs: Dirs, findings: Findings): void {
  if (inodes.state[ROOTINO] !== STATE.DIR) return;
  if (dirs.dotdot.has(ROOTINO) && dirs.dotdot.get(ROOTINO) !== ROOTINO)
    findings.add(`BAD INODE NUMBER FOR '..' I=${ROOTINO} (${dirs.dotdot.get(ROOTINO)})`);
  for (let ino = ROOTINO + 1; ino < inodes.state.length; ino++) {
    if (inodes.state[ino] !== STATE.DIR) continue;
    const parent = dirs.parent.get(ino);
    if (parent === undefined) {
      findings.add(`UNREF DIR I=${ino}`);
      continue;
    }
    const dotdot = dirs.dotdot.get(ino);
    if (dotdot !== undefined && dotdot !== parent)
      findings.add(`BAD INODE NUMBER FOR '..' I=${ino} (${dotdot} should be ${parent})`);
    // Reachable: follow the parents to the root (a cycle never gets there).
    let up = ino;
    for (let steps = 0; up !== ROOTINO && steps < inodes.state.length; steps++) {
      const next = dirs.parent.get(up);
      if (next === undefined) break;
      up = next;
    }
    if (up !== ROOTINO) findings.add(`UNREF DIR I=${ino} (not reachable from the root)`);
  }
}
