use dispatch_xtask::{generate, routes::RouteTable, workspace_root};
use std::process::ExitCode;

const USAGE: &str =
    "usage: cargo xtask routes [--check]\n       scripts/invoke <function> [--stage NAME]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["routes"] => routes(false),
        ["routes", "--check"] => routes(true),
        ["invoke", function] => invoke(function, None),
        ["invoke", function, "--stage", stage] => invoke(function, Some(stage)),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn routes(check: bool) -> Result<(), String> {
    let root = workspace_root();
    let table = RouteTable::load(&root)?;
    let outputs = generate::outputs(&root, &table)?;
    if check {
        let stale = generate::stale(&root, &outputs);
        if stale.is_empty() {
            println!(
                "routes: everything matches routes.toml ({} routes)",
                table.routes.len()
            );
            return Ok(());
        }
        let list: Vec<String> = stale.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "stale (run `cargo xtask routes`): {}",
            list.join(", ")
        ));
    }
    let changed = generate::write(&root, &outputs)?;
    for path in &changed {
        println!("wrote {}", path.display());
    }
    println!(
        "routes: {} routes, {} files changed",
        table.routes.len(),
        changed.len()
    );
    Ok(())
}

fn invoke(function: &str, stage: Option<&str>) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(dispatch_xtask::invoke::run(
        &workspace_root(),
        function,
        stage,
    ))
}
