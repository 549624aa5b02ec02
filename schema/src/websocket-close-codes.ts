/**
 * WebSocket close codes the platform's `graphql-transport-ws` servers use beyond the protocol's own
 * (`graphql-ws` `CloseCode`: 4400 bad request, 4401 unauthorized, 4403 forbidden, 4408 init timeout,
 * 4409 duplicate subscription id, 4429 too many init requests, 4500 internal error).
 *
 * The stock `graphql-ws` client retries every code below (none is in its fatal list), so a client
 * reconnects by itself; it should resubscribe with the last cursor it received to resume without
 * loss (e.g. `alertEvents(after:)`).
 */
export enum WebSocketCloseCode {
  /** The server is shutting down (RFC 6455 "going away"); connect again, another replica answers. */
  GOING_AWAY = 1001,
  /**
   * A subscription's outgoing queue overflowed because the client reads more slowly than events
   * arrive. The connection is closed so the server's memory never grows with a slow client.
   */
  SLOW_CONSUMER = 4508,
}
