import type http2 from 'node:http2';
import { constants } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

const watched = new WeakSet<http2.Http2Server>();

/**
 * Closes every HTTP/2 stream of `server` whose answer is complete while the request side is still
 * open, with RST_STREAM NO_ERROR (RFC 9113 §8.1 lets a server stop a request this way once its
 * response is complete).
 *
 * Why: grpc-js (1.14) answers a message over `grpc.max_receive_message_length` with
 * RESOURCE_EXHAUSTED but never reads the rest of the request, so the stream stays open and paused,
 * holding what the client sent: ~30 KB per such call, a leak any client could drive
 * (`npm run bench:sidecar-memory`). Calls that end normally have read their request to its end, and
 * are untouched.
 *
 * grpc-js keeps its HTTP/2 servers in a private field, read here after `bindAsync`; when a version
 * moves it this throws at start-up rather than leaking quietly (and the sidecar tests fail).
 */
export function closeAnsweredStreams(server: Server): void {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) {
    throw new Error(
      '@grpc/grpc-js no longer keeps its HTTP/2 servers in `http2Servers`; see answered-streams.ts',
    );
  }
  for (const http2Server of servers.keys() as Iterable<http2.Http2Server>) {
    if (watched.has(http2Server)) continue;
    watched.add(http2Server);
    http2Server.on('stream', (stream) => {
      stream.once('finish', () => {
        if (!stream.closed && !stream.readableEnded) stream.close(constants.NGHTTP2_NO_ERROR);
      });
    });
  }
}
