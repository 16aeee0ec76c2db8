// Types for check-node.mjs, which stays plain JavaScript so that it runs before the build.
export interface SupportedRelease {
  major: number;
  minor: number;
}
export interface NodeVersionCheck {
  level: 'ok' | 'warn' | 'error';
  message: string;
}
export const SUPPORTED: SupportedRelease[];
export const TESTED: number[];
export function enginesRange(): string;
export function checkNodeVersion(version: string): NodeVersionCheck;
