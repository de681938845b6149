/** pass4.c: link counts against the references pass 2 counted; files nothing names. */
import { ROOTINO } from '../layout.js';
import { STATE, type Findings } from './image.js';
import type { Inodes } from './pass1.js';

export function pass4(inodes: Inodes, findings: Findings): void {
  for (let ino = ROOTINO; ino < inodes.state.length; ino++) {
    const state = inodes.state[ino];
    if (state !== STATE.FILE && state !== STATE.DIR) continue;
    const refs = inodes.refs[ino];
    const kind = state === STATE.DIR ? 'DIR' : 'FILE';
    if (refs === 0) findings.add(`UNREF ${kind} I=${ino}`);
    else if (refs !== inodes.nlink[ino])
      findings.add(`LINK COUNT ${kind} I=${ino} COUNT ${inodes.nlink[ino]} SHOULD BE ${refs}`);
  }
}
