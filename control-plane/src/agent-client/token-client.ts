import { status } from "@grpc/grpc-js";
import type { RotateResponse } from "@devhatchery/proto/agent/v1/token";
import { tokenFingerprint } from "@devhatchery/proto/token-fingerprint";
import { ControlPlaneError } from "../errors.js";
import type { AgentTransport } from "./agent-transport.js";

/** A rotation answers at once; past this the agent is not answering normally. */
const ROTATE_DEADLINE_MS = 10_000;

/** The token role of an agent client: replaces the runner token and switches the client over to the new one. */
export class TokenClient {
  constructor(private readonly transport: AgentTransport) {}

  /** See AgentClient.rotateToken. */
  async rotate(newToken: string): Promise<void> {
    const { runnerId } = this.transport;
    const fingerprint = await new Promise<string>((resolve, reject) =>
      this.transport.token.rotate(
        { newToken },
        this.transport.metadata(),
        { deadline: Date.now() + ROTATE_DEADLINE_MS },
        (error, response: RotateResponse) => {
          if (!error) return resolve(response.fingerprint);
          if (error.code === status.UNIMPLEMENTED)
            return reject(
              new ControlPlaneError(
                "FAILED_PRECONDITION",
                `Runner "${runnerId}" runs an agent without token rotation (TokenService.Rotate is unimplemented); ` +
                  "its token cannot be replaced. Remove the runner with runner_remove and spawn a new one.",
                { cause: error },
              ),
            );
          reject(this.transport.fail(error));
        },
      ),
    );
    const expected = tokenFingerprint(newToken);
    if (fingerprint !== expected)
      throw new ControlPlaneError(
        "FAILED_PRECONDITION",
        `Runner "${runnerId}" answered the token rotation with fingerprint "${fingerprint.slice(0, 64)}", not ` +
          `"${expected}" of the token sent; its agent did not take the new token and cannot be trusted with the runner. ` +
          "Remove the runner with runner_remove and spawn a new one.",
      );
    this.transport.useToken(newToken);
  }
}
