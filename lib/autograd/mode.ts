// Gradient recording on/off (torch.no_grad / enable_grad).

let enabled = true;

export function isGradEnabled(): boolean {
  return enabled;
}

function withMode<T>(on: boolean, fn: () => T): T {
  const prev = enabled;
  enabled = on;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    enabled = prev;
    throw e;
  }
  if (result instanceof Promise) {
    // async fn: the mode holds until it settles (do not interleave other grad work meanwhile)
    return result.finally(() => {
      enabled = prev;
    }) as T;
  }
  enabled = prev;
  return result;
}

/** Runs fn without recording the graph (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  return withMode(false, fn);
}

/** Runs fn with recording on, inside a noGrad region. */
export function enableGrad<T>(fn: () => T): T {
  return withMode(true, fn);
}

export function setGradEnabled(on: boolean): void {
  enabled = on;
}
