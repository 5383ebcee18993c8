/**
 * The CLI as a program: runs `main` with the process's arguments and environment. The published `costtrace` bin
 * (bin.js) runs its compiled form; inside the repository `npm start` and the tests run this file through tsx, so
 * no build step stands between an edit and a run.
 */
import { main } from './cli.ts';

process.exitCode = await main(process.argv.slice(2), process.env);
