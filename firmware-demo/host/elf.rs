//! Flash and static RAM of the firmware, from its ELF section headers (the `object` crate).

use std::path::Path;

use object::{Object, ObjectSection};

/// The allocated sections that matter, in bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sections {
    pub vector_table: u64,
    pub text: u64,
    pub rodata: u64,
    pub data: u64,
    pub bss: u64,
    pub uninit: u64,
}

impl Sections {
    /// Bytes in flash: the vector table, code, read-only data (the blob included) and the
    /// initial values of .data (copied to RAM at boot).
    pub fn flash(&self) -> u64 {
        self.vector_table + self.text + self.rodata + self.data
    }

    /// Bytes of RAM taken by statics: .data, .bss and .uninit.
    pub fn statics(&self) -> u64 {
        self.data + self.bss + self.uninit
    }
}

/// Read the section sizes of the ELF at `path`.
pub fn sections(path: &Path) -> Result<Sections, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let file = object::File::parse(&*bytes).map_err(|e| format!("{}: not an ELF: {e}", path.display()))?;
    let mut s = Sections::default();
    for section in file.sections() {
        let size = section.size();
        match section.name().unwrap_or_default() {
            ".vector_table" => s.vector_table = size,
            ".text" => s.text = size,
            ".rodata" => s.rodata = size,
            ".data" => s.data = size,
            ".bss" => s.bss = size,
            ".uninit" => s.uninit = size,
            _ => {}
        }
    }
    if s.text == 0 {
        return Err(format!("{}: no .text section", path.display()));
    }
    Ok(s)
}
