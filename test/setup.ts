/**
 * Jest setup of every test file (`setupFilesAfterEnv`): removes the output folders cdk8s creates.
 *
 * `Testing.app()` (and `Testing.chart()`, which calls it) makes a `cdk8s.outdir.*` folder in the
 * temp dir for every app and never removes it: hundreds per run. This records the folders the test
 * file's own calls created and deletes them after the file, so a run leaves none and parallel
 * workers never delete each other's.
 */
import * as fs from 'fs';
import { App, AppProps, Testing } from 'cdk8s';

const created: string[] = [];
const testingApp = Testing.app.bind(Testing);
Testing.app = (props?: AppProps): App => {
  const app = testingApp(props);
  if (props?.outdir === undefined) created.push(app.outdir);
  return app;
};

afterAll(() => {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
