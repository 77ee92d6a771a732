//! `xtask site [--release]`: builds the site the server serves, under
//! `target/site`:
//!
//! 1. the WASM client: `cargo rustc --lib --crate-type cdylib --target
//!    wasm32-unknown-unknown --features hydrate`, in a target directory of
//!    its own (`front/`), so it may build while the server builds in the
//!    main one;
//! 2. the split: code behind `#[lazy]` (the operators' dashboard) moves to
//!    chunks of its own, fetched only when used (`wasm_split_cli_support`);
//! 3. the bindings: wasm-bindgen's JavaScript glue for the main module
//!    (`wasm_bindgen_cli_support`);
//! 4. for `--release`: `wasm-opt -Oz` on every module and `esbuild --minify`
//!    on the glue and the stylesheet (both from the npm packages);
//! 5. the stylesheet and `public/`;
//! 6. content names: every file a page links gets its content's hash in its
//!    name, so the server can tell browsers to keep it for good, and
//!    `hash.txt` beside the server binary tells Leptos the names.
//!
//! Why not cargo-leptos: it did exactly this for the project, but it and the
//! wasm-bindgen CLI cost about 950 core-seconds to install on a new machine,
//! more than a third of the README's cold start, mostly in parts this
//! project never runs (its project generator, its dev server, swc,
//! lightningcss, downloads). Both are built on the two libraries used here
//! (bench/PROFILE.md, round 13).

mod names;

use anyhow::{Context, Result, bail, ensure};
use std::{
    ffi::OsStr,
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

/// The crate's name, the bundle's name, and what Leptos's `output_name`
/// says (the server's `LeptosOptions` and `LEPTOS_OUTPUT_NAME`).
const OUTPUT_NAME: &str = "highlighter";
/// The placeholder the splitter writes into every module that imports its
/// loader; it is replaced by the loader's content name (22 characters, as
/// long as the placeholder, because it is also written inside WASM).
const LOADER_PLACEHOLDER: &str = "__wasm_split.______________________.js";
const MANIFEST: &str = "__wasm_split_manifest.json";

fn main() {
    if let Err(error) = run(std::env::args().skip(1).collect()) {
        eprintln!("xtask: {error:#}");
        std::process::exit(1);
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let mut release = false;
    let mut command = None;
    for arg in &args {
        match arg.as_str() {
            "--release" => release = true,
            "site" if command.is_none() => command = Some("site"),
            "-h" | "--help" => {
                println!("usage: xtask site [--release]");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (usage: xtask site [--release])"),
        }
    }
    ensure!(
        command == Some("site"),
        "no command given (usage: xtask site [--release])"
    );
    let site = Site::here(release)?;
    site.build()
}

/// Where things are, for one build.
struct Site {
    release: bool,
    /// The repository: the directory holding the app's Cargo.toml.
    root: PathBuf,
    /// The cargo target directory the server builds in (`CARGO_TARGET_DIR`,
    /// else `target/`): `hash.txt` goes beside its binary.
    target_dir: PathBuf,
    /// `target/site`: what the server serves (`LEPTOS_SITE_ROOT`).
    site_root: PathBuf,
}

impl Site {
    fn here(release: bool) -> Result<Site> {
        let root = std::env::current_dir()?;
        ensure!(
            root.join("Cargo.toml").is_file() && root.join("xtask").is_dir(),
            "run from the repository's root (no Cargo.toml and xtask/ in {})",
            root.display()
        );
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let site_root = root.join("target/site");
        Ok(Site {
            release,
            root,
            target_dir,
            site_root,
        })
    }

    fn build(&self) -> Result<()> {
        let started = Instant::now();
        let wasm = self.compile_client()?;
        let compiled = started.elapsed();

        // Built aside and swapped in whole: a file of the last build never
        // lingers beside this one's, and the server never sees half a pkg/.
        let pkg = self.site_root.join("pkg.building");
        remove_dir_if_present(&pkg)?;
        fs::create_dir_all(&pkg)?;

        let step = Instant::now();
        let (main_wasm, chunks) = split(&wasm, &pkg)?;
        let split_took = step.elapsed();

        let step = Instant::now();
        bind(&main_wasm, &pkg)?;
        let bind_took = step.elapsed();

        let step = Instant::now();
        let stylesheet = pkg.join(format!("{OUTPUT_NAME}.css"));
        fs::copy(self.root.join("style/main.css"), &stylesheet)
            .context("copying style/main.css")?;
        if self.release {
            let mut modules = vec![pkg.join(format!("{OUTPUT_NAME}.wasm"))];
            modules.extend(chunks);
            optimise(&modules)?;
            minify(&[pkg.join(format!("{OUTPUT_NAME}.js")), stylesheet])?;
        }
        let optimise_took = step.elapsed();

        let names = names::name_by_content(&pkg, OUTPUT_NAME)?;

        let published = self.site_root.join("pkg");
        remove_dir_if_present(&published)?;
        fs::rename(&pkg, &published)?;
        copy_dir(&self.root.join("public"), &self.site_root)?;

        // Beside the binary, where Leptos looks (`current_exe()`'s folder).
        let profile = if self.release { "release" } else { "debug" };
        let hash_file = self.target_dir.join(profile).join("hash.txt");
        fs::create_dir_all(hash_file.parent().expect("a file in a folder"))?;
        fs::write(&hash_file, names.hash_file())?;

        eprintln!(
            "site built in {:.1?} (client {:.1?}, split {:.1?}, bindings {:.1?}, {} {:.1?}): {} and {}",
            started.elapsed(),
            compiled,
            split_took,
            bind_took,
            if self.release {
                "optimising"
            } else {
                "stylesheet"
            },
            optimise_took,
            self.site_root.display(),
            hash_file.display()
        );
        Ok(())
    }

    /// Compiles the client and returns its module. Its own target directory
    /// keeps it clear of the server's build lock, so the two build at once.
    fn compile_client(&self) -> Result<PathBuf> {
        let front = self.target_dir.join("front");
        let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cargo
            .current_dir(&self.root)
            .args([
                "rustc",
                "--package",
                OUTPUT_NAME,
                "--lib",
                // The browser loads a cdylib; the crate declares an rlib
                // alone, so that server builds link none.
                "--crate-type",
                "cdylib",
                "--target",
                "wasm32-unknown-unknown",
                "--no-default-features",
                "--features",
                "hydrate",
            ])
            .arg("--target-dir")
            .arg(&front)
            // The splitter needs the linker's relocations. Debug builds erase
            // the view types, which compiles Leptos several times faster;
            // release builds keep them, a 6% smaller client (PROFILE round 10).
            .env(
                "RUSTFLAGS",
                if self.release {
                    "-Clink-args=--emit-relocs"
                } else {
                    "-Clink-args=--emit-relocs --cfg erase_components"
                },
            )
            .env("LEPTOS_OUTPUT_NAME", OUTPUT_NAME)
            .env("LEPTOS_HASH_FILES", "true");
        let profile_dir = if self.release {
            cargo.args(["--profile", "wasm-release"]);
            "wasm-release"
        } else {
            "debug"
        };
        run_step("cargo rustc (the WASM client)", &mut cargo)?;
        Ok(front
            .join("wasm32-unknown-unknown")
            .join(profile_dir)
            .join(format!("{OUTPUT_NAME}.wasm")))
    }
}

/// Splits the lazily loaded code out of the client: its chunks and their
/// loader (`__wasm_split.*.js`) go to `pkg`, with the manifest Leptos reads
/// to prefetch them; the main module, still to be bound, is returned with
/// the chunks' paths.
fn split(wasm: &Path, pkg: &Path) -> Result<(PathBuf, Vec<PathBuf>)> {
    let input = fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let main = wasm.with_file_name(format!("{OUTPUT_NAME}_split.wasm"));
    let main_module = format!("./{OUTPUT_NAME}.js");
    let link_name = format!("./{LOADER_PLACEHOLDER}");
    let mut options = wasm_split_cli_support::Options::new(&input);
    options.output_dir = pkg;
    options.main_out_path = &main;
    options.main_module = &main_module;
    options.link_name = &link_name;
    let split = wasm_split_cli_support::transform(options)
        .map_err(|e| anyhow::anyhow!("splitting {}: {e:#}", wasm.display()))?;
    fs::write(
        pkg.join(MANIFEST),
        serde_json::to_string_pretty(&split.prefetch_map)?,
    )?;
    Ok((main, split.split_modules))
}

/// wasm-bindgen's glue, for the browser's ES modules (`--target web`).
/// lld's exports are kept and names not demangled: the chunks link to the
/// main module by them.
fn bind(main_wasm: &Path, pkg: &Path) -> Result<()> {
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(main_wasm)
        .out_name(OUTPUT_NAME)
        .web(true)?
        .keep_lld_exports(true)
        .demangle(false)
        .generate(pkg)
        .with_context(|| format!("wasm-bindgen on {}", main_wasm.display()))?;
    // Leptos links `{output_name}.wasm`, not wasm-bindgen's `_bg` name.
    fs::rename(
        pkg.join(format!("{OUTPUT_NAME}_bg.wasm")),
        pkg.join(format!("{OUTPUT_NAME}.wasm")),
    )?;
    Ok(())
}

/// `wasm-opt -Oz`, from the npm package binaryen (on PATH through
/// node_modules/.bin). Debian's binaryen 108 breaks hydration: never use it.
/// The modules are optimised side by side, the largest first, one per core.
fn optimise(modules: &[PathBuf]) -> Result<()> {
    let mut queue: Vec<(u64, &PathBuf)> = modules
        .iter()
        .map(|module| Ok((fs::metadata(module)?.len(), module)))
        .collect::<Result<_>>()?;
    queue.sort_unstable();
    let queue = std::sync::Mutex::new(queue);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    while let Some((_, module)) = queue.lock().expect("no panics").pop() {
                        run_step(
                            "wasm-opt",
                            Command::new("wasm-opt")
                                .args([
                                    "-Oz",
                                    "--enable-bulk-memory",
                                    "--enable-nontrapping-float-to-int",
                                ])
                                .arg(module)
                                .arg("-o")
                                .arg(module),
                        )?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|worker| worker.join().expect("a worker panicked"))
    })
}

/// `esbuild --minify` on JavaScript (an ES module) and CSS, in place.
fn minify(files: &[PathBuf]) -> Result<()> {
    for file in files {
        let mut esbuild = Command::new("esbuild");
        esbuild
            .arg(file)
            .args(["--minify", "--allow-overwrite", "--log-level=error"])
            .arg(format!("--outfile={}", file.display()));
        if file.extension() == Some(OsStr::new("js")) {
            esbuild.arg("--format=esm");
        }
        run_step("esbuild", &mut esbuild)?;
    }
    Ok(())
}

/// Runs a step's command, naming the step when it cannot start or fails.
fn run_step(step: &str, command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| {
        format!(
            "{step}: cannot run {:?} (scripts/setup.sh installs it)",
            command.get_program()
        )
    })?;
    ensure!(status.success(), "{step} failed ({status})");
    Ok(())
}

fn remove_dir_if_present(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
