import { ResponderBuilder, ServerInterceptingCall, ServerListenerBuilder, type ServerInterceptor } from "@grpc/grpc-js";

export interface CallStats {
  open: number;
  total: number;
  openByMethod: Record<string, number>;
}

/** Counts gRPC calls in flight per method (streams included) for the debug endpoint. */
export function createCallTracker(): { interceptor: ServerInterceptor; stats(): CallStats } {
  const open = new Map<string, number>();
  let total = 0;
  const interceptor: ServerInterceptor = (methodDescriptor, call) => {
    const method = methodDescriptor.path;
    let counted = true;
    open.set(method, (open.get(method) ?? 0) + 1);
    total++;
    const done = (): void => {
      if (!counted) return;
      counted = false;
      const left = (open.get(method) ?? 1) - 1;
      if (left > 0) open.set(method, left);
      else open.delete(method);
    };
    const listener = new ServerListenerBuilder().withOnCancel(done).build();
    const responder = new ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendStatus((status, next) => {
        done();
        next(status);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
  return {
    interceptor,
    stats: () => ({
      open: [...open.values()].reduce((sum, count) => sum + count, 0),
      total,
      openByMethod: Object.fromEntries(open),
    }),
  };
}
