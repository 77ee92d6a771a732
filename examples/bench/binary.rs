//! What the release server binary holds: its size against the goal, its
//! ELF sections grouped by what they are for, and the C libraries linked
//! into it (the tree-sitter grammars' tables, SQLite, Oniguruma) by their size
//! before linking.
//!
//! The grammars' parse tables are most of the read-only data, and each
//! new grammar adds its own: this is where a new language's cost shows.
//! The ELF and `ar` readers are the few lines this needs (64-bit
//! little-endian ELF, as Linux on x86-64 and aarch64 writes it).

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
    time::SystemTime,
};

use crate::report::{Row, Section};

const GOAL_BYTES: f64 = 120.0 * 1000.0 * 1000.0;
/// A section that occupies no bytes in the file (`.bss`).
const SHT_NOBITS: u32 = 8;

/// One section of an ELF file: its name and the bytes it occupies.
struct ElfSection {
    name: String,
    size: u64,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The sections of a 64-bit little-endian ELF file, or `None` for anything else.
fn elf_sections(file: &[u8]) -> Option<Vec<ElfSection>> {
    if file.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let table = usize::try_from(u64_at(file, 0x28)?).ok()?;
    let entry = usize::from(u16_at(file, 0x3A)?);
    let count = usize::from(u16_at(file, 0x3C)?);
    let names_index = usize::from(u16_at(file, 0x3E)?);
    let header = |i: usize| table + i * entry;
    let names_at = usize::try_from(u64_at(file, header(names_index) + 24)?).ok()?;
    (0..count)
        .map(|i| {
            let h = header(i);
            let name_at = names_at + usize::try_from(u32_at(file, h)?).ok()?;
            let name = file.get(name_at..)?.split(|&b| b == 0).next()?;
            let size = if u32_at(file, h + 4)? == SHT_NOBITS {
                0
            } else {
                u64_at(file, h + 32)?
            };
            Some(ElfSection {
                name: String::from_utf8_lossy(name).into_owned(),
                size,
            })
        })
        .collect()
}

/// What a section is for, as the report groups them.
fn group(section: &str) -> &'static str {
    match section {
        s if s.starts_with(".text") || s == ".init" || s == ".fini" || s == ".plt" => "code",
        s if s.starts_with(".rodata") => {
            "read-only data (grammar tables, syntect's dumps, strings)"
        }
        s if s.starts_with(".data.rel.ro") || s.starts_with(".rela") => {
            "relocated constants (vtables, tables of pointers) and their relocations"
        }
        s if s.starts_with(".eh_frame") || s == ".gcc_except_table" => "unwinding tables",
        ".symtab" | ".strtab" => "symbols (names in backtraces and profiles)",
        s if s.starts_with(".debug") => "debug information",
        _ => "other",
    }
}

/// Code and data of every object in an `ar` archive (a static library).
fn archive_bytes(archive: &[u8]) -> Option<(u64, u64)> {
    let mut at = 8;
    if archive.get(..at)? != b"!<arch>\n" {
        return None;
    }
    let (mut code, mut data) = (0, 0);
    while at + 60 <= archive.len() {
        let size: usize = std::str::from_utf8(&archive[at + 48..at + 58])
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let member = archive.get(at + 60..at + 60 + size)?;
        for section in elf_sections(member).into_iter().flatten() {
            if section.name.starts_with(".text") {
                code += section.size;
            } else if section.name.starts_with(".rodata") || section.name.starts_with(".data") {
                data += section.size;
            }
        }
        at += 60 + size + size % 2;
    }
    Some((code, data))
}

/// Every C library a build script compiled for the server, by crate: the
/// newest `out/*.a` of each crate's build directories beside the binary.
fn c_libraries(server_bin: &Path) -> BTreeMap<String, (u64, u64)> {
    let Some(build) = server_bin.parent().map(|dir| dir.join("build")) else {
        return BTreeMap::new();
    };
    let mut newest: BTreeMap<String, (SystemTime, PathBuf)> = BTreeMap::new();
    for dir in std::fs::read_dir(&build).into_iter().flatten().flatten() {
        let name = dir.file_name().to_string_lossy().into_owned();
        // `{crate}-{16 hex digits}`
        let Some((krate, _hash)) = name.rsplit_once('-') else {
            continue;
        };
        for lib in std::fs::read_dir(dir.path().join("out"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = lib.path();
            if path.extension().is_some_and(|e| e == "a") {
                let modified = lib.metadata().and_then(|m| m.modified()).ok();
                if let Some(modified) = modified
                    && newest.get(krate).is_none_or(|(seen, _)| modified > *seen)
                {
                    newest.insert(krate.to_owned(), (modified, path));
                }
            }
        }
    }
    newest
        .into_iter()
        .filter_map(|(krate, (_, path))| Some((krate, archive_bytes(&std::fs::read(path).ok()?)?)))
        .collect()
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

pub fn run(server_bin: &Path) -> Section {
    let file = std::fs::read(server_bin)
        .unwrap_or_else(|e| panic!("{} cannot be read: {e}", server_bin.display()));
    let sections = elf_sections(&file).unwrap_or_default();
    let mut groups: BTreeMap<&str, u64> = BTreeMap::new();
    for section in &sections {
        *groups.entry(group(&section.name)).or_default() += section.size;
    }
    let in_sections: u64 = groups.values().sum();
    let headers = (file.len() as u64).saturating_sub(in_sections);

    let mut detail = String::from("| part | bytes | share |\n|---|---:|---:|\n");
    let mut by_size: Vec<_> = groups.iter().collect();
    by_size.sort_by_key(|(_, bytes)| std::cmp::Reverse(**bytes));
    for (part, bytes) in by_size {
        let _ = writeln!(
            detail,
            "| {part} | {} | {:.0}% |",
            mb(*bytes),
            100.0 * *bytes as f64 / file.len() as f64
        );
    }
    let _ = writeln!(detail, "| headers and padding | {} | |", mb(headers));

    let libraries = c_libraries(server_bin);
    let (c_code, c_data) = libraries
        .values()
        .fold((0u64, 0u64), |(c, d), (code, data)| (c + code, d + data));
    let mut by_size: Vec<_> = libraries.iter().collect();
    by_size.sort_by_key(|(_, (code, data))| std::cmp::Reverse(code + data));
    let _ = writeln!(
        detail,
        "\nThe C libraries compiled by build scripts, by their objects' code and data \
         before linking ({} libraries: {} of code, {} of data):\n\n\
         | library | code | data |\n|---|---:|---:|",
        libraries.len(),
        mb(c_code),
        mb(c_data)
    );
    for (library, (code, data)) in by_size {
        let _ = writeln!(detail, "| {library} | {} | {} |", mb(*code), mb(*data));
    }

    let size = file.len() as u64;
    Section {
        title: "Server binary".into(),
        how: format!(
            "`{}`: its ELF sections grouped by purpose, and each C library a build script \
             compiled (the newest `out/*.a` per crate under `build/` beside it).",
            server_bin.display()
        ),
        rows: vec![Row {
            measure: "server binary size".into(),
            result: format!(
                "{} ({} of it C libraries: grammar tables, SQLite, Oniguruma)",
                mb(size),
                mb(c_code + c_data)
            ),
            goal: "<= 120 MB".into(),
            score: GOAL_BYTES / size as f64,
        }],
        detail,
    }
}
