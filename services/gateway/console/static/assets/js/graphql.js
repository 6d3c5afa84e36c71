// GraphQL subscriptions over one WebSocket, in the graphql-transport-ws protocol (what the
// graphql-ws library speaks): connection_init with the user's credentials, subscribe, next, ping/pong. A
// socket that drops is opened again after a pause, with its subscriptions.

const RETRY_MS = [1000, 2000, 5000, 10000];

/** Subscribe to `operations` ({id: {query, variables}}); `onData(id, data)` gets each result,
 * `onState(state, detail)` "connecting", "live", "closed" or "refused". Returns stop(). */
export function subscribe(httpUrl, credentials, operations, onData, onState) {
  const url = new URL(httpUrl, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  let socket = null;
  let stopped = false;
  let attempt = 0;
  let timer = null;

  function open() {
    onState("connecting");
    socket = new WebSocket(url, "graphql-transport-ws");
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "connection_init", payload: credentials }));
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "connection_ack") {
        attempt = 0;
        onState("live");
        for (const [id, payload] of Object.entries(operations)) socket.send(JSON.stringify({ id, type: "subscribe", payload }));
      } else if (message.type === "next") {
        if (message.payload.errors) onState("error", message.payload.errors.map((e) => e.message).join("; "));
        if (message.payload.data) onData(message.id, message.payload.data);
      } else if (message.type === "error") {
        onState("error", [message.payload].flat().map((e) => e.message).join("; "));
      } else if (message.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      }
    };
    socket.onclose = (event) => {
      if (stopped) return;
      // 4401/4403: the credentials are not good enough for GraphQL; trying again would not help.
      if (event.code === 4401 || event.code === 4403) {
        onState("refused", event.reason || `closed with ${event.code}`);
        return;
      }
      onState("closed", event.reason || `closed with ${event.code}`);
      timer = setTimeout(open, RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)]);
    };
  }

  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000, "left the page");
  };
}
