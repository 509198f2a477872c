// Why a rung of the backend ladder cannot be used (backend.ts): an explicit request fails with
// the message, 'auto' moves to the next rung.
export class Unavailable extends Error {}

/** An optional package that is simply absent: the normal case, so 'auto' does not warn about it. */
export class NotInstalled extends Unavailable {}

/** WebGPU found no hardware adapter (none, or only a software one): normal on a machine without a
 * GPU. 'auto' moves on, and warns only where the machine has a GPU that training leaves unused. */
export class NoHardwareAdapter extends Unavailable {}
