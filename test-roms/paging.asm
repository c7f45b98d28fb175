; paging.asm: 32-bit paging (no PAE) in protected mode, ring 0.
;
; Tables: page directory at 0x10000, page table 0 at 0x11000 (identity map of
; linear 0-0xFFFFF: code, stacks, GDT/IDT/TSS, data, ROM), page table 1 at
; 0x12000 (linear 0x400000-0x7FFFFF, the test pages). Physical test pages:
; 0x50000-0x54FFF. All checks follow Intel SDM Vol. 3A chapter 4:
;
; 1. Enabling paging, 4 KiB translation (SDM 4.3, Table 4-5/4-6): identity code
;    keeps running; linear 0x400000 aliases physical 0x50000 in both directions;
;    CR3 reads back.
; 2. Accessed / dirty flags (SDM 4.8): a read sets A (not D) in the PTE and A in
;    the PDE; a write sets D in the PTE only (bit 6 of a PDE that references a
;    page table is ignored, Table 4-5, and is not written); after software clears
;    A and D and does INVLPG, a first access that is a write sets both A and D;
;    no other bit of the entries changes.
; 3. 4 MiB pages (SDM 4.3, Table 4-4, CR4.PSE): a PDE with PS=1 maps linear
;    0x800000-0xBFFFFF to physical 0-0x3FFFFF (IVT slot, library scratch RAM,
;    0x50000 via a 22-bit offset); a read sets A only in that PDE, a write sets
;    D. With CR4.PSE=0 the PS bit is ignored (Table 4-5): the same PDE then
;    references a page table at physical 0, whose entry 0xFF (IVT slot 255,
;    physical 0x3FC) maps linear 0x8FF000 (the CPU sets A in it).
; 4. INVLPG (SDM 4.10.4.1, INVLPG instruction page): a changed PTE takes effect
;    after INVLPG.
; 5. Global pages (SDM 4.10.2.4, 4.10.4.1, CR4.PGE): after a PTE change and a
;    CR3 load a non-global translation must use the new PTE. A global one may
;    keep the old translation, so that is NOT checked; checked instead: INVLPG
;    does flush a global translation, clearing CR4.PGE flushes all of them, and
;    with CR4.PGE=0 the G bit is ignored (a CR3 load flushes the page).
; 6. CR0.WP (SDM 4.6, 2.5): with WP=0 ring 0 may write a read-only page (and the
;    write sets D); with WP=1 the same write is #PF with error code 3 (P=1, W/R=1,
;    U/S=0), CR2 = the linear address, EIP = the faulting instruction, memory
;    unchanged.
; 7. Paging off and on (SDM 4.1.2, 4.10.4.1): with CR0.PG=0 linear = physical
;    and no paging entry is touched; MOV to CR0 clearing PG flushes the TLB, so
;    a PTE changed while paging was off is used once it is back on; CR3 keeps
;    its value.
%include "rom.inc"

PD      equ 0x10000
PT0     equ 0x11000
PT1     equ 0x12000

P       equ 0x001
RW      equ 0x002
US      equ 0x004
ACC     equ 0x020
DIRTY   equ 0x040
PS      equ 0x080
GLB  equ 0x100

CR0_PG  equ 0x80000000
CR0_WP  equ 0x00010000
CR4_PSE equ 0x10
CR4_PGE equ 0x80

CODE16
main:
    ENTER_PM32 pm_main

CODE32
pm_main:
    PRINT "paging: build tables", 10
    ; zero the page directory and both page tables
    mov edi, PD
    xor eax, eax
    mov ecx, 3 * 1024
    rep stosd
    ; page table 0: identity map of 0-0xFFFFF, supervisor, read/write
    mov edi, PT0
    mov eax, P | RW
    mov ecx, 256
.ident:
    stosd
    add eax, 0x1000
    loop .ident
    mov dword [PD + 0*4], PT0 | P | RW
    mov dword [PD + 1*4], PT1 | P | RW
    mov dword [PD + 2*4], 0x00000000 | PS | P | RW     ; 4 MiB page -> 0
    mov dword [PT1 + 0*4], 0x50000 | P | RW            ; 0x400000 -> 0x50000
    ; data in the physical test pages (paging still off)
    mov dword [0x50000], 0x11111111
    mov dword [0x51000], 0xa1a1a1a1
    mov dword [0x52000], 0xa2a2a2a2
    mov dword [0x53000], 0xa3a3a3a3
    mov dword [0x54000], 0xa4a4a4a4
    mov dword [0x3fc], 0x50000 | P | RW                ; IVT slot 255 (see group 3)
    mov dword [VAR_SCRATCH], 0xcafef00d

    ; ---- 1. enable paging -----------------------------------------------------------
    mov eax, PD
    mov cr3, eax
    mov eax, cr4
    or eax, CR4_PSE
    mov cr4, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    jmp .paged
.paged:
    PRINT "paging: 4 KiB pages", 10
    mov eax, cr0
    and eax, CR0_PG | CR0_WP | 1
    CHECK32 eax, CR0_PG | 1, "cr0 after enabling paging"
    mov eax, cr3
    CHECK32 eax, PD, "cr3"
    CHECK32 [VAR_SCRATCH], 0xcafef00d, "identity-mapped read"
    ; ---- 2. first access is a read: A in PTE and PDE, no D --------------------------
    CHECK32 [0x400000], 0x11111111, "read through the alias 0x400000"
    CHECK32 [PT1 + 0*4], 0x50000 | ACC | P | RW, "pte after a read (A set, D clear)"
    CHECK32 [PD + 1*4], PT1 | ACC | P | RW, "pde after a read (A set)"
    mov dword [0x400004], 0x22222222
    CHECK32 [0x50004], 0x22222222, "write through the alias seen at 0x50004"
    CHECK32 [PT1 + 0*4], 0x50000 | DIRTY | ACC | P | RW, "pte after a write (A and D set)"
    CHECK32 [PD + 1*4], PT1 | ACC | P | RW, "pde after a write (bit 6 not written)"
    mov dword [0x50008], 0x12345678
    CHECK32 [0x400008], 0x12345678, "write at 0x50008 seen through the alias"
    ; software clears A/D (and the PDE's A), INVLPG; first access is a write
    mov dword [PT1 + 0*4], 0x50000 | P | RW
    mov dword [PD + 1*4], PT1 | P | RW
    invlpg [0x400000]
    mov dword [0x40000c], 0x33333333
    CHECK32 [PT1 + 0*4], 0x50000 | DIRTY | ACC | P | RW, "pte after a first write (A and D set)"
    CHECK32 [PD + 1*4], PT1 | ACC | P | RW, "pde after a first write (A set)"
    CHECK32 [0x5000c], 0x33333333, "first write landed at 0x5000c"

    ; ---- 3. 4 MiB page --------------------------------------------------------------
    PRINT "paging: 4 MiB pages", 10
    CHECK32 [0x800000 + VAR_SCRATCH], 0xcafef00d, "read of scratch RAM through the 4 MiB page"
    CHECK32 [0x800000 + 0x3fc], 0x50000 | P | RW, "read of the IVT through the 4 MiB page"
    CHECK32 [0x850000], 0x11111111, "read of 0x50000 through the 4 MiB page"
    CHECK32 [PD + 2*4], PS | ACC | P | RW, "4 MiB pde after reads (A set, D clear)"
    mov dword [0x850010], 0x44444444
    CHECK32 [0x50010], 0x44444444, "write through the 4 MiB page"
    CHECK32 [PD + 2*4], PS | DIRTY | ACC | P | RW, "4 MiB pde after a write (A and D set)"
    ; CR4.PSE=0: PS is ignored, the PDE references a page table at physical 0;
    ; entry 0xFF of that table (physical 0x3FC) maps 0x8FF000 -> 0x50000
    ; (SDM 4.10.4.1 does not list a CR4.PSE change among the TLB-flushing CR4
    ; writes, so the 4 MiB translation is flushed by a CR3 load)
    mov eax, cr4
    and eax, ~CR4_PSE
    mov cr4, eax
    mov eax, cr3
    mov cr3, eax
    CHECK32 [0x8ff000], 0x11111111, "PSE=0: PS ignored, PDE used as a page-table pointer"
    CHECK32 [0x3fc], 0x50000 | ACC | P | RW, "PSE=0: A set in the entry at physical 0x3fc"
    mov eax, cr4
    or eax, CR4_PSE
    mov cr4, eax
    mov eax, cr3
    mov cr3, eax
    mov dword [0x3fc], 0                               ; IVT slot back to 0
    CHECK32 [0x800000 + VAR_SCRATCH], 0xcafef00d, "PSE=1 again: 4 MiB page"

    ; ---- 4. INVLPG --------------------------------------------------------------------
    PRINT "paging: invlpg", 10
    mov dword [PT1 + 3*4], 0x51000 | P | RW            ; 0x403000 -> 0x51000
    CHECK32 [0x403000], 0xa1a1a1a1, "0x403000 -> 0x51000"
    mov dword [PT1 + 3*4], 0x52000 | P | RW            ; now -> 0x52000
    invlpg [0x403000]
    CHECK32 [0x403000], 0xa2a2a2a2, "changed pte used after invlpg"
    CHECK32 [PT1 + 3*4], 0x52000 | ACC | P | RW, "new pte: A set by the new walk"

    ; ---- 5. global pages ----------------------------------------------------------
    PRINT "paging: global pages", 10
    mov eax, cr4
    or eax, CR4_PGE
    mov cr4, eax
    mov dword [PT1 + 1*4], 0x51000 | GLB | P | RW   ; 0x401000 global -> 0x51000
    mov dword [PT1 + 2*4], 0x52000 | P | RW            ; 0x402000 -> 0x52000
    CHECK32 [0x401000], 0xa1a1a1a1, "global page 0x401000"
    CHECK32 [0x402000], 0xa2a2a2a2, "non-global page 0x402000"
    mov dword [PT1 + 1*4], 0x53000 | GLB | P | RW   ; both -> 0x53000, no INVLPG
    mov dword [PT1 + 2*4], 0x53000 | P | RW
    mov eax, cr3
    mov cr3, eax
    CHECK32 [0x402000], 0xa3a3a3a3, "non-global translation flushed by a CR3 load"
    ; (0x401000 may still read 0xa1a1a1a1 or already 0xa3a3a3a3: not checked)
    invlpg [0x401000]
    CHECK32 [0x401000], 0xa3a3a3a3, "global translation flushed by invlpg"
    CHECK32 [PT1 + 1*4], 0x53000 | GLB | ACC | P | RW, "global pte after a read"
    ; change it back; a CR3 load may keep it; clearing PGE flushes it
    mov dword [PT1 + 1*4], 0x51000 | GLB | P | RW
    mov eax, cr3
    mov cr3, eax
    mov eax, cr4
    and eax, ~CR4_PGE
    mov cr4, eax
    CHECK32 [0x401000], 0xa1a1a1a1, "global translation flushed by clearing CR4.PGE"
    ; with PGE=0 the G bit is ignored: a CR3 load flushes the page
    mov dword [PT1 + 1*4], 0x53000 | GLB | P | RW
    mov eax, cr3
    mov cr3, eax
    CHECK32 [0x401000], 0xa3a3a3a3, "PGE=0: G ignored, CR3 load flushes"
    ; setting PGE again also flushes (SDM 4.10.4.1: MOV to CR4 changing PGE)
    mov eax, cr4
    or eax, CR4_PGE
    mov cr4, eax
    CHECK32 [0x401000], 0xa3a3a3a3, "PGE=1 again"
    mov dword [PT1 + 1*4], 0x51000 | GLB | P | RW
    mov eax, cr4
    and eax, ~CR4_PGE
    mov cr4, eax
    CHECK32 [0x401000], 0xa1a1a1a1, "global translation flushed by clearing PGE (2)"

    ; ---- 6. CR0.WP ----------------------------------------------------------------
    PRINT "paging: cr0.wp", 10
    mov dword [PT1 + 4*4], 0x54000 | P                 ; 0x404000: read-only, supervisor
    invlpg [0x404000]
    mov eax, cr0
    and eax, ~CR0_WP
    mov cr0, eax
    mov dword [0x404000], 0x5a5a5a5a
    CHECK_NO_EXC "WP=0: ring 0 writes a read-only page"
    CHECK32 [0x54000], 0x5a5a5a5a, "WP=0: the write landed"
    CHECK32 [PT1 + 4*4], 0x54000 | DIRTY | ACC | P, "WP=0: A and D set"
    ; no INVLPG: the TLB holds the R/W flag, CR0.WP applies at each access (SDM 4.6,
    ; 4.10.2.2), so the cached writable-by-ring-0 translation must not be used
    mov eax, cr0
    or eax, CR0_WP
    mov cr0, eax
    mov eax, cr0
    and eax, CR0_PG | CR0_WP | 1
    CHECK32 eax, CR0_PG | CR0_WP | 1, "cr0 with WP set"
    SET_RECOVERY .wp_fault_done
.wp_fault:
    mov dword [0x404004], 0x6b6b6b6b
    FAIL "WP=1: ring 0 write to a read-only page did not fault"
.wp_fault_done:
    CHECK_EXC 14, 3, "WP=1: ring 0 write to a read-only page"
    mov eax, cr2
    CHECK32 eax, 0x404004, "WP=1: cr2"
    CHECK32 [VAR_EXC_EIP], .wp_fault, "WP=1: faulting eip"
    CHECK32 [VAR_EXC_CS], SEL_CODE32, "WP=1: faulting cs"
    CHECK32 [0x54004], 0, "WP=1: memory unchanged"
    ; reads are still allowed
    CHECK32 [0x404000], 0x5a5a5a5a, "WP=1: read of a read-only page"
    CHECK_NO_EXC "WP=1: read"
    mov eax, cr0
    and eax, ~CR0_WP
    mov cr0, eax

    ; ---- 7. paging off and on -------------------------------------------------------
    PRINT "paging: off and on", 10
    mov dword [0x400000], 0x66666666                   ; -> physical 0x50000
    mov dword [PT0 + 0x50*4], 0x50000 | P | RW         ; identity PTE of 0x50000: A clear
    invlpg [0x50000]
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
    jmp .unpaged
.unpaged:
    mov eax, cr0
    and eax, CR0_PG | CR0_WP | 1
    CHECK32 eax, 1, "cr0 with paging off"
    CHECK32 [0x50000], 0x66666666, "paging off: physical 0x50000 holds the aliased write"
    mov dword [0x50014], 0x77777777
    CHECK32 [PT0 + 0x50*4], 0x50000 | P | RW, "paging off: no A/D set in the identity pte"
    mov dword [PT1 + 0*4], 0x52000 | P | RW            ; retarget 0x400000 while off
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    jmp .repaged
.repaged:
    mov eax, cr3
    CHECK32 eax, PD, "cr3 kept across paging off/on"
    CHECK32 [0x400000], 0xa2a2a2a2, "new pte used after paging off/on (TLB flushed)"
    CHECK32 [0x50014], 0x77777777, "identity page again"
    CHECK32 [PT0 + 0x50*4], 0x50000 | ACC | P | RW, "identity pte A set after paging is back on"
    CHECK_NO_EXC "end of test"
    PASS
