// Shared by the workers: print this rank's result as one `RESULT <json>` line.
export function report(rank: number, data: Record<string, unknown>): void {
  process.stdout.write(`RESULT ${JSON.stringify({ rank, ...data })}\n`);
}
