; pae.asm: PAE paging (Intel SDM Vol. 3A 4.4) and execute-disable (4.6, 4.7) in
; protected mode, ring 0.
; cpu: pentium3,+nx
;
; The header line above is the CPU the test harnesses also run this ROM with
; (vemu and QEMU take the same -cpu syntax): the execute-disable group needs
; CPUID.80000001H:EDX.NX, which no vemu model has by default. Without it the
; group is skipped with a "SKIP:" line (and the harnesses run it with NX too).
;
; Tables (64-bit entries): PDPT at 0x10000 (entry 0 -> the directory, 1-3 not
; present); the directory PD at 0x11000:
;     entry 0  0x000000-0x1FFFFF  PT0 (0x12000): identity, 4 KiB pages
;     entry 1  0x200000-0x3FFFFF  2 MiB page -> 0x200000 (identity)
;     entry 2  0x400000-0x5FFFFF  PT1 (0x13000): the test pages
;     entry 3  0x600000-0x7FFFFF  2 MiB page -> 0x200000 (an alias of entry 1)
;     entry 4  0x800000-          2 MiB page with reserved bit 13 (group 7)
; PD_ALT (0x14000) is PD with entry 3 -> 0x400000. Two more PDPTs in the same
; page: PDPT_OTHER (0x10040, valid, CR3 bits 11:5 non-zero) and PDPT_BAD
; (0x10020: its present entry 1 has reserved bit 1 set).
; PT1: 0x400000 -> 0x50000; 0x401000 -> 0x51000; 0x402000 -> 0x52000;
; 0x403000 -> 0x53000 (read-only); 0x405000 -> 0x55000 (code: mov eax,
; 0x600d600d; jmp ebx); 0x406000 not present; 0x407000 -> physical
; 0x1_0005_0000, above 4 GiB.
;
; Groups:
;  1. Enabling PAE paging (4.4, 4.1.2): CR4.PAE, CR3, then CR0.PG; the identity
;     code keeps running; CR3 and CR4 read back.
;  2. 4 KiB pages: an alias in both directions; accessed and dirty flags in the
;     64-bit entries (4.8): a read sets A in the PTE and the PDE, a write D in
;     the PTE only, the high halves stay.
;  3. 2 MiB pages (4.4.2, Table 4-9): PDE.PS maps one with CR4.PSE=0; A and D
;     in that PDE.
;  4. INVLPG of a 2 MiB page (4.10.4.1: "the entire large page"): after the PDE
;     changes, INVLPG of one address flushes the other 4 KiB pieces cached.
;  5. MOV to CR3 (4.4.1): bits 11:5 are part of the PDPT address and read
;     back. [Bochs/vemu only: a PDPT with a reserved bit in a present entry
;     makes MOV CR3 #GP(0) and leaves CR3; so does setting CR0.PG over one.]
;  6. [Bochs/vemu only] The PDPTEs are loaded with CR3 (4.4.1, 4.10.4.4):
;     rewriting the PDPT in memory changes nothing, not even after INVLPG,
;     until CR3 is loaded again; a MOV to CR4 changing PGE loads them too.
;  7. [Bochs/vemu only] Reserved bits (4.4.2, 4.7): bit 40 of a PTE, bit 13 of
;     a 2 MiB PDE, XD without EFER.NXE: #PF with P and RSVD set (9 on a
;     read, 0xB on a write), no accessed flag set.
;  8. CR0.WP under PAE: ring 0 writes a read-only page with WP=0, faults (3)
;     with WP=1.
;  9. Execute-disable, if CPUID reports it: IA32_EFER.NXE; XD in a PTE, in the
;     PDE above it and in a 2 MiB PDE forbids instruction fetches (#PF, error
;     0x11: P and I/D) but not reads or writes, also when the page was just
;     read (a cached translation for data is not one for code) or its code ran
;     before XD was set; a fetch from a not-present page reports I/D (0x10)
;     with NXE and not without (0). [Bochs/vemu only: without NX, RDMSR of
;     IA32_EFER is #GP(0), as on a Pentium 4 without it; QEMU 7.2 reads 0.]
; 10. [not in the differential runner, whose QEMU model lacks PSE-36 as vemu's
;     does, which makes QEMU 7.2 take MAXPHYADDR as 32] A PTE pointing above
;     4 GiB (MAXPHYADDR is 36 with PAE, 4.1.4): the write goes nowhere, it does
;     not alias low memory; A and D are set.
;
; QEMU 7.2 differs in what the bracketed checks test: it reads the PDPTEs from
; memory on every walk (and sets bit 5 in them) instead of loading them with
; CR3, never raises #GP for them, and reports reserved-bit faults without P.
%include "rom.inc"

PDPT        equ 0x10000
PDPT_BAD    equ 0x10020
PDPT_OTHER  equ 0x10040
PD          equ 0x11000
PT0         equ 0x12000
PT1         equ 0x13000
PD_ALT      equ 0x14000

P       equ 0x001
RW      equ 0x002
ACC     equ 0x020
DIRTY   equ 0x040
PS      equ 0x080
XD_HI   equ 0x80000000      ; bit 63, in the high dword

CR0_PG  equ 0x80000000
CR0_WP  equ 0x00010000
CR4_PSE equ 0x10
CR4_PAE equ 0x20
CR4_PGE equ 0x80
EFER    equ 0xc0000080
EFER_NXE equ 0x800

; PTE_HI n / PDE_HI n: the high dword of an entry
%define PT1E(n) (PT1 + (n) * 8)
%define PDE(n) (PD + (n) * 8)

CODE16
main:
    ENTER_PM32 pm_main

CODE32
pm_main:
    PRINT "pae: build tables", 10
    mov eax, 1
    cpuid
    test edx, 1 << 6
    jnz .have_pae
    FAIL "CPUID.01H:EDX.PAE is 0"
.have_pae:
    ; zero PDPT page, PD, PT0, PT1, PD_ALT
    mov edi, PDPT
    xor eax, eax
    mov ecx, 5 * 1024
    rep stosd
    mov dword [PDPT], PD | P
    mov dword [PDPT_BAD], PD | P
    mov dword [PDPT_BAD + 8], PD | P | RW           ; bit 1 is reserved in a PDPTE
    mov dword [PDPT_OTHER], PD | P
    ; PT0: identity map of 0-0x1FFFFF
    mov edi, PT0
    mov eax, P | RW
    mov ecx, 512
.ident:
    mov [edi], eax
    mov dword [edi + 4], 0
    add edi, 8
    add eax, 0x1000
    loop .ident
    mov dword [PDE(0)], PT0 | P | RW
    mov dword [PDE(1)], 0x200000 | PS | P | RW
    mov dword [PDE(2)], PT1 | P | RW
    mov dword [PDE(3)], 0x200000 | PS | P | RW
    mov dword [PDE(4)], 0x200000 | 0x2000 | PS | P | RW   ; bit 13 reserved
    mov dword [PT1E(0)], 0x50000 | P | RW
    mov dword [PT1E(1)], 0x51000 | P | RW
    mov dword [PT1E(2)], 0x52000 | P | RW
    mov dword [PT1E(3)], 0x53000 | P                      ; read-only
    mov dword [PT1E(5)], 0x55000 | P | RW
    mov dword [PT1E(7)], 0x50000 | P | RW                 ; + bit 32: above 4 GiB
    mov dword [PT1E(7) + 4], 1
    ; PD_ALT: PD with entry 3 -> 0x400000
    mov esi, PD
    mov edi, PD_ALT
    mov ecx, 2 * 8
    rep movsd
    mov dword [PD_ALT + 3 * 8], 0x400000 | PS | P | RW
    ; data in physical memory (paging still off)
    mov dword [0x50000], 0x11111111
    mov dword [0x51000], 0xa1a1a1a1
    mov dword [0x52000], 0xa2a2a2a2
    mov dword [0x53000], 0xa3a3a3a3
    mov dword [0x201000], 0x2a2a2a2a
    mov dword [0x3ff000], 0x2b2b2b2b
    mov dword [0x401000], 0x4a4a4a4a
    mov dword [0x5ff000], 0x4b4b4b4b
    ; code: mov eax, 0x600d600d; jmp ebx -- at 0x55000 and at 0x201800
    mov dword [0x55000], 0x0d600db8
    mov dword [0x55004], 0x00e3ff60
    mov dword [0x201800], 0x0d600db8
    mov dword [0x201804], 0x00e3ff60
    mov dword [VAR_SCRATCH], 0xcafef00d

    ; ---- 1. enable PAE paging ------------------------------------------------------
    PRINT "pae: enable", 10
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, PDPT
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    jmp .paged
.paged:
    mov eax, cr4
    and eax, CR4_PAE | CR4_PSE | CR4_PGE
    CHECK32 eax, CR4_PAE, "cr4: PAE, neither PSE nor PGE"
    mov eax, cr3
    CHECK32 eax, PDPT, "cr3"
    CHECK32 [VAR_SCRATCH], 0xcafef00d, "identity-mapped read"

    ; ---- 2. 4 KiB pages, accessed and dirty ----------------------------------------
    PRINT "pae: 4 KiB pages", 10
    CHECK32 [0x400000], 0x11111111, "read through the alias 0x400000"
    CHECK32 [PT1E(0)], 0x50000 | ACC | P | RW, "pte after a read (A set, D clear)"
    CHECK32 [PT1E(0) + 4], 0, "pte high half after a read"
    CHECK32 [PDE(2)], PT1 | ACC | P | RW, "pde after a read (A set)"
    mov dword [0x400004], 0x22222222
    CHECK32 [0x50004], 0x22222222, "write through the alias seen at 0x50004"
    CHECK32 [PT1E(0)], 0x50000 | DIRTY | ACC | P | RW, "pte after a write (A and D set)"
    CHECK32 [PDE(2)], PT1 | ACC | P | RW, "pde after a write (no D in a pde of a table)"
    mov dword [0x50008], 0x12345678
    CHECK32 [0x400008], 0x12345678, "write at 0x50008 seen through the alias"
    mov dword [PT1E(0)], 0x50000 | P | RW
    invlpg [0x400000]
    mov dword [0x40000c], 0x33333333
    CHECK32 [PT1E(0)], 0x50000 | DIRTY | ACC | P | RW, "pte after a first write (A and D set)"
    CHECK32 [0x5000c], 0x33333333, "first write landed"

    ; ---- 3. 2 MiB pages ---------------------------------------------------------------
    PRINT "pae: 2 MiB pages", 10
    CHECK32 [0x601000], 0x2a2a2a2a, "read through the 2 MiB page at 0x600000"
    CHECK32 [PDE(3)], 0x200000 | PS | ACC | P | RW, "2 MiB pde after a read (A set, D clear)"
    mov dword [0x601004], 0x87654321
    CHECK32 [0x201004], 0x87654321, "write through the 2 MiB alias seen at 0x201004"
    CHECK32 [PDE(3)], 0x200000 | PS | DIRTY | ACC | P | RW, "2 MiB pde after a write (A and D set)"
    CHECK32 [PDE(3) + 4], 0, "2 MiB pde high half"

    ; ---- 4. INVLPG of a 2 MiB page ---------------------------------------------------
    PRINT "pae: invlpg of a 2 MiB page", 10
    CHECK32 [0x601000], 0x2a2a2a2a, "0x601000 before"
    CHECK32 [0x7ff000], 0x2b2b2b2b, "0x7ff000 before"
    mov dword [PDE(3)], 0x400000 | PS | P | RW
    invlpg [0x7ff000]
    CHECK32 [0x601000], 0x4a4a4a4a, "another 4 KiB piece of the large page was flushed"
    CHECK32 [0x7ff000], 0x4b4b4b4b, "the page invlpg named"
    mov dword [PDE(3)], 0x200000 | PS | P | RW
    invlpg [0x600000]
    CHECK32 [0x601000], 0x2a2a2a2a, "back to 0x200000"

    ; ---- 5. MOV to CR3 ------------------------------------------------------------------
    PRINT "pae: mov cr3", 10
    mov eax, PDPT_OTHER
    mov cr3, eax
    mov eax, cr3
    CHECK32 eax, PDPT_OTHER, "cr3 with bits 11:5 set"
    CHECK32 [VAR_SCRATCH], 0xcafef00d, "running through the other PDPT"
    mov eax, PDPT
    mov cr3, eax
%ifndef QEMU
    mov eax, PDPT_BAD
    SET_RECOVERY .bad_cr3_done
.bad_cr3:
    mov cr3, eax
    FAIL "mov cr3 with a reserved bit in a present PDPTE did not fault"
.bad_cr3_done:
    CHECK_EXC 13, 0, "mov cr3 with a reserved bit in a present PDPTE"
    CHECK32 [VAR_EXC_EIP], .bad_cr3, "#GP at the mov"
    mov eax, cr3
    CHECK32 eax, PDPT, "cr3 unchanged after the #GP"
    ; With paging off CR3 takes it (no PDPTEs are loaded); turning paging on
    ; then loads them and faults.
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
    mov eax, PDPT_BAD
    mov cr3, eax
    CHECK_NO_EXC "mov cr3 with paging off loads no PDPTEs"
    mov eax, cr0
    or eax, CR0_PG
    SET_RECOVERY .bad_pg_done
.bad_pg:
    mov cr0, eax
    FAIL "setting CR0.PG over a bad PDPTE did not fault"
.bad_pg_done:
    CHECK_EXC 13, 0, "setting CR0.PG over a bad PDPTE"
    mov eax, cr0
    and eax, CR0_PG
    CHECK32 eax, 0, "paging still off"
    mov eax, PDPT
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    CHECK_NO_EXC "paging back on"

    ; ---- 6. the PDPTEs are cached -------------------------------------------------------
    PRINT "pae: PDPTE loading", 10
    mov dword [PDPT], PD_ALT | P        ; in memory only
    invlpg [0x601000]
    CHECK32 [0x601000], 0x2a2a2a2a, "after rewriting the PDPT: the loaded PDPTE still used"
    mov eax, cr3
    mov cr3, eax
    CHECK32 [0x601000], 0x4a4a4a4a, "after reloading CR3: the new PDPTE"
    mov dword [PDPT], PD | P
    invlpg [0x601000]
    CHECK32 [0x601000], 0x4a4a4a4a, "rewritten back: still the loaded one"
    mov eax, cr4
    or eax, CR4_PGE
    mov cr4, eax
    CHECK32 [0x601000], 0x2a2a2a2a, "a MOV to CR4 changing PGE loaded the PDPTEs"
    mov eax, cr4
    and eax, ~CR4_PGE
    mov cr4, eax

    ; ---- 7. reserved bits -----------------------------------------------------------------
    PRINT "pae: reserved bits", 10
    mov dword [PT1E(1) + 4], 1 << (40 - 32)
    SET_RECOVERY .rsvd_read_done
.rsvd_read:
    mov eax, [0x401000]
    FAIL "a PTE with bit 40 set did not fault"
.rsvd_read_done:
    CHECK_EXC 14, 9, "read through a PTE with bit 40 set"
    mov eax, cr2
    CHECK32 eax, 0x401000, "cr2 of the reserved-bit fault"
    CHECK32 [VAR_EXC_EIP], .rsvd_read, "eip of the reserved-bit fault"
    SET_RECOVERY .rsvd_write_done
    mov dword [0x401004], 1
.rsvd_write_done:
    CHECK_EXC 14, 0xb, "write through a PTE with bit 40 set"
    CHECK32 [PT1E(1)], 0x51000 | P | RW, "a reserved-bit fault sets no accessed flag"
    SET_RECOVERY .rsvd_2m_done
    mov eax, [0x800000]
.rsvd_2m_done:
    CHECK_EXC 14, 9, "read through a 2 MiB PDE with bit 13 set"
    CHECK32 [PDE(4)], 0x200000 | 0x2000 | PS | P | RW, "that PDE untouched"
    mov dword [PT1E(2) + 4], XD_HI
    SET_RECOVERY .rsvd_xd_done
    mov eax, [0x402000]
.rsvd_xd_done:
    CHECK_EXC 14, 9, "read through a PTE with XD set and EFER.NXE clear"
    mov dword [PT1E(1) + 4], 0
    mov dword [PT1E(2) + 4], 0
    CHECK32 [0x401000], 0xa1a1a1a1, "fixed entry (no flush needed: faults are not cached)"
    CHECK32 [0x402000], 0xa2a2a2a2, "fixed entry (2)"
%endif

    ; ---- 8. CR0.WP ----------------------------------------------------------------------
    PRINT "pae: cr0.wp", 10
    mov dword [0x403000], 0x5a5a5a5a
    CHECK_NO_EXC "WP=0: ring 0 writes a read-only page"
    CHECK32 [0x53000], 0x5a5a5a5a, "WP=0: the write landed"
    mov eax, cr0
    or eax, CR0_WP
    mov cr0, eax
    SET_RECOVERY .wp_done
.wp:
    mov dword [0x403004], 0x6b6b6b6b
    FAIL "WP=1: ring 0 write to a read-only page did not fault"
.wp_done:
    CHECK_EXC 14, 3, "WP=1: ring 0 write to a read-only page"
    CHECK32 [VAR_EXC_EIP], .wp, "WP=1: faulting eip"
    CHECK32 [0x53004], 0, "WP=1: memory unchanged"
    mov eax, cr0
    and eax, ~CR0_WP
    mov cr0, eax

    ; ---- 9. execute-disable --------------------------------------------------------------
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_nx
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 20
    jz .no_nx
    PRINT "pae: execute-disable", 10
    mov ecx, EFER
    rdmsr
    CHECK32 eax, 0, "IA32_EFER at reset"
    or eax, EFER_NXE
    wrmsr
    xor eax, eax
    rdmsr
    CHECK32 eax, EFER_NXE, "IA32_EFER.NXE set"
    ; the code page runs while XD is clear
    mov ebx, .ran1
    xor eax, eax
    jmp 0x405000
.ran1:
    CHECK32 eax, 0x600d600d, "code on 0x405000 ran"
    ; XD in its PTE: readable, writable, not executable
    mov dword [PT1E(5) + 4], XD_HI
    invlpg [0x405000]
    CHECK32 [0x405000], 0x0d600db8, "read of an XD page"
    mov byte [0x405010], 0x90
    CHECK_NO_EXC "read and write of an XD page"
    mov ebx, .nx_ran
    xor eax, eax
    SET_RECOVERY .nx_pte_done
    jmp 0x405000
.nx_pte_done:
    CHECK_EXC 14, 0x11, "fetch from a page whose PTE has XD"
    mov eax, cr2
    CHECK32 eax, 0x405000, "cr2 of the fetch fault"
    CHECK32 [VAR_EXC_EIP], 0x405000, "eip of the fetch fault"
    ; XD in the PDE above a table
    mov dword [PT1E(5) + 4], 0
    mov dword [PDE(2) + 4], XD_HI
    invlpg [0x405000]
    CHECK32 [0x400000], 0x11111111, "read under a PDE with XD"
    SET_RECOVERY .nx_pde_done
    jmp 0x405000
.nx_pde_done:
    CHECK_EXC 14, 0x11, "fetch under a PDE with XD"
    mov dword [PDE(2) + 4], 0
    invlpg [0x405000]
    mov ebx, .ran2
    xor eax, eax
    jmp 0x405000
.ran2:
    CHECK32 eax, 0x600d600d, "XD clear again: the code runs"
    ; a 2 MiB page with XD (its code at 0x601800 -> 0x201800)
    mov dword [PDE(3) + 4], XD_HI
    invlpg [0x601800]
    CHECK32 [0x601800], 0x0d600db8, "read of a 2 MiB XD page"
    SET_RECOVERY .nx_2m_done
    jmp 0x601800
.nx_2m_done:
    CHECK_EXC 14, 0x11, "fetch from a 2 MiB page with XD"
    mov eax, cr2
    CHECK32 eax, 0x601800, "cr2 of the 2 MiB fetch fault"
    mov dword [PDE(3) + 4], 0
    invlpg [0x601800]
    ; a fetch from a not-present page reports I/D with NXE only
    SET_RECOVERY .np_nxe_done
    jmp 0x406000
.np_nxe_done:
    CHECK_EXC 14, 0x10, "fetch from a not-present page with NXE"
    mov ecx, EFER
    xor eax, eax
    xor edx, edx
    wrmsr
    SET_RECOVERY .np_done
    jmp 0x406000
.np_done:
    CHECK_EXC 14, 0, "fetch from a not-present page without NXE"
    jmp .nx_done
.nx_ran:
    FAIL "code on an XD page ran"
.no_nx:
    PRINT "SKIP: execute-disable: CPUID.80000001H:EDX.NX is 0", 10
%ifndef QEMU
    mov ecx, EFER
    SET_RECOVERY .no_efer_done
    rdmsr
.no_efer_done:
    CHECK_EXC 13, 0, "rdmsr IA32_EFER without NX"
%endif
.nx_done:

    ; ---- 10. above 4 GiB ------------------------------------------------------------------
%ifndef DIFFTEST
    PRINT "pae: above 4 GiB", 10
    mov dword [0x407000], 0xdeadbeef
    CHECK_NO_EXC "write to a page above 4 GiB"
    CHECK32 [0x50000], 0x11111111, "physical 0x50000 unchanged"
    CHECK32 [PT1E(7)], 0x50000 | DIRTY | ACC | P | RW, "A and D set in that PTE"
    CHECK32 [PT1E(7) + 4], 1, "its high half kept"
%endif
    CHECK_NO_EXC "end of test"
    PASS
