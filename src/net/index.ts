export * from './types.js';
export { MeshNode, MeshError, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RECV_TIMEOUT_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS } from './mesh.js';
export type { MeshErrorKind } from './mesh.js';
export {
  FrameError,
  MAX_TAG_LENGTH,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_PAYLOAD_BYTES,
  wsFramingOverhead,
  alignedPayload,
  encodeMsgHeader,
  encodeByeHeader,
  decodeHeader,
} from './frames.js';
export type { MsgHeader, ByeHeader, Header } from './frames.js';
export {
  HANDSHAKE_VERSION,
  NONCE_BYTES,
  handshakeMac,
  encodeHandshake,
  decodeHello,
  decodeChallenge,
  decodeAuth,
  decodeOk,
  newNonce,
} from './handshake.js';
export type { HandshakeTranscript, Hello, Challenge, Auth, Ok, MacDirection } from './handshake.js';
export { createLocalMesh } from './local.js';
export type { LocalMesh, LocalMeshOptions } from './local.js';
