/** Copyable snippets that fetch exactly one version, for the CLI, Python and Rust. */
export function usageSnippets(project: string, artifact: string, version: string, server: string): [string, string][] {
  const reference = `${project}/${artifact}:${version}`;
  const url = server.replace(/\/$/, '');
  return [
    [
      'Command line',
      `export WANLLMDB_API_KEY=...   # one of your API keys\nwanllmdb login --url ${url}\nwanllmdb artifact get ${reference} -o ./${artifact}`,
    ],
    [
      'Python',
      `import wanllmdb\n\npath = wanllmdb.Api().artifact(${JSON.stringify(reference)}).download()\n\n# or as the input of a run, recorded in the lineage:\nwith wanllmdb.init(project=${JSON.stringify(project)}) as run:\n    path = run.use_artifact(${JSON.stringify(`${artifact}:${version}`)}).download()`,
    ],
    [
      'Rust',
      `let client = wanllmdb_client::Client::from_env()?;\nlet used = client.use_artifact(${JSON.stringify(reference)}, None).await?;\nused.download("./${artifact}").await?;`,
    ],
  ];
}
