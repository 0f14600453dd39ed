// The wattgrad CLI as a bundle (lib/cli.ts runs main() itself when it is the script node started).
import '../../../lib/cli.js';
