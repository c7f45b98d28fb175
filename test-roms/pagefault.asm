; pagefault.asm: page-fault exceptions (#PF, vector 14) under 32-bit paging (no
; PAE): error code, CR2, faulting CS:EIP, what the faulting instruction left
; behind, from ring 0, ring 1 and ring 3.
;
; Intel SDM Vol. 3A: 4.7 (page-fault error code: P bit 0, W/R bit 1, U/S bit 2,
; RSVD bit 3, I/D bit 4 = 0 without PAE+NXE or SMEP; CR2 = the linear address),
; 4.6 (access rights: CPL 3 is a user access, CPL 0-2 supervisor; the effective
; R/W and U/S rights are the AND of PDE and PTE; CR0.WP), 4.8 (A/D flags), 6.15
; "Interrupt 14" (the fault is restartable, CS:EIP point at the faulting
; instruction), REP/MOVS instruction pages (registers after a fault in a string
; instruction).
;
; Tables: directory 0x10000; PT0 0x11000 identity-maps 0-0xFFFFF as user R/W
; (the ROM code runs at ring 3 too); PT1 0x12000 holds the test pages:
;     0x400000  not present (PTE holds software bits 0x0BAD0000)
;     0x401000  supervisor, R/W          -> 0x51000
;     0x402000  user, read-only          -> 0x52000
;     0x403000  user, R/W                -> 0x53000 (last 2 bytes: code that
;                                           straddles into 0x404000)
;     0x404000  not present
;     0x405000  user, R/W                -> 0x55000 (REP MOVSD source/dest)
;     0x406000  not present, mapped to 0x56000 by the REP MOVSD test
; PDE 2 (0x800000) is SUPERVISOR and R/W, PDE 4 (0x1000000) is USER and READ-ONLY;
; both reference PT2 (0x13000) whose entry 0 is user R/W -> 0x54000. PDE 3
; (0xC00000) is not present.
;
; Groups:
;  1. ring 0, CR0.WP=1: not-present read (0) / write (2) incl. a write that
;     straddles into a not-present page (CR2 = start of the second page),
;     not-present PDE read (0) / write (2), write to a read-only user page (3),
;     write where the PDE is read-only and the PTE R/W (3); destination register
;     and memory unchanged; a faulting write does not set D; a not-present entry
;     is never written.
;  2. ring 0 instruction fetch: JMP to a not-present page (0, CR2 = EIP =
;     target), CALL to one (the CALL completes: return address pushed, fault at
;     the target), an instruction starting 2 bytes before a not-present page
;     (CR2 = first byte of that page, EIP = the instruction start).
;  3. REP MOVSD running into a not-present page: ECX/ESI/EDI show the two
;     completed iterations, CR2/EIP; map the page and restart: it completes.
;  4. ring 3: supervisor page read (5) / write (7), read-only user page read ok
;     / write (7, D not set), PDE supervisor + PTE user read (5) / write (7),
;     PDE read-only + PTE R/W read ok / write (7), not-present read (4) / write
;     (6), not-present PDE (4), fetch from a not-present page (4) and from a
;     supervisor page (5), straddling fetch (4), PUSH into a not-present page
;     (6, ESP unchanged, the frame holds the old ESP).
;  5. ring 1 (a supervisor access): PUSH into a not-present page (2, ESP
;     unchanged), read of a supervisor page allowed, write to a read-only user
;     page with WP=1 (3).
;  (A PUSH at ring 0 into a not-present page cannot be tested without a task
;  gate: the #PF frame would go to the same unmapped stack -> #DF.)
;
; Checked under Bochs only (QEMU 7.2 differs): the PDE accessed flag after a
; walk that faults because the PTE is not present. SDM 4.8 says the processor sets A in an entry
; "whenever [it] uses a paging-structure entry as part of linear-address
; translation"; 4.10.3.1 says it does not create a PDE-cache entry unless A is 1
; in the PDE (setting it first), that it may create one "even if there are no
; translations for any linear address that might use that entry", and that
; paging-structure-cache entries may be created for prefetches and speculative
; accesses. So A=1 (QEMU 7.2) and A=0 (Bochs 2.7, which writes A/D bits only
; after a successful walk) are both allowed. vemu follows Bochs (A is set only
; by a walk that succeeds), so the check runs under Bochs and vemu, not QEMU.
%include "rom.inc"

PD      equ 0x10000
PT0     equ 0x11000
PT1     equ 0x12000
PT2     equ 0x13000

P       equ 0x001
RW      equ 0x002
US      equ 0x004
ACC     equ 0x020
DIRTY   equ 0x040

CR0_PG  equ 0x80000000
CR0_WP  equ 0x00010000

NP_PTE  equ 0x0bad0000          ; not present, software bits

VAR_CR2       equ VAR_SCRATCH       ; CR2 recorded by pf_handler
VAR_SAVED_ESP equ VAR_SCRATCH + 4
VAR_CONT      equ VAR_SCRATCH + 8   ; where back_to_ring0 continues

SEL_CODE32_R1 equ SEL_FREE + 1      ; 0x41: 32-bit code, DPL 1
SEL_DATA32_R1 equ SEL_FREE + 8 + 1  ; 0x49: 32-bit data, DPL 1
RING1_TOP     equ 0x9800

; CHECK_PF error, cr2, eip, "what": exactly one exception since the last check,
; a #PF with this error code, CR2 and EIP (one message string: .rodata is small)
%macro CHECK_PF 4
[section .rodata]
%%msg: db %4, 0
__?SECT?__
    push dword %%msg + 0xF0000
    push dword %3
    push dword %2
    push dword %1
    call check_pf
%endmacro

; NO_PF: the instruction before it should have faulted
%macro NO_PF 0
    call no_pf
%endmacro

CODE16
main:
    ENTER_PM32 pm_main

CODE32
pm_main:
    PRINT "pagefault: setup", 10
    cld
    ; #PF -> pf_handler (records CR2, then the library recorder)
    mov eax, pf_handler
    mov [IDT_BASE + 14*8], ax
    shr eax, 16
    mov [IDT_BASE + 14*8 + 6], ax
    ; int 0x80: DPL 3 interrupt gate -> back_to_ring0
    mov eax, back_to_ring0
    mov [IDT_BASE + 0x80*8], ax
    mov word [IDT_BASE + 0x80*8 + 2], SEL_CODE32
    mov word [IDT_BASE + 0x80*8 + 4], 0xee00
    shr eax, 16
    mov [IDT_BASE + 0x80*8 + 6], ax
    ; ring-1 code and data descriptors
    mov dword [GDT_BASE + SEL_FREE], 0x0000ffff
    mov dword [GDT_BASE + SEL_FREE + 4], 0x00cfbb00
    mov dword [GDT_BASE + SEL_FREE + 8], 0x0000ffff
    mov dword [GDT_BASE + SEL_FREE + 12], 0x00cfb300
    mov ax, SEL_TSS
    ltr ax

    ; page directory and tables
    mov edi, PD
    xor eax, eax
    mov ecx, 4 * 1024
    rep stosd
    mov edi, PT0
    mov eax, P | RW | US
    mov ecx, 256
.ident:
    stosd
    add eax, 0x1000
    loop .ident
    mov dword [PD + 0*4], PT0 | P | RW | US
    mov dword [PD + 1*4], PT1 | P | RW | US
    mov dword [PD + 2*4], PT2 | P | RW             ; supervisor
    mov dword [PD + 4*4], PT2 | P | US             ; read-only
    mov dword [PT2 + 0*4], 0x54000 | P | RW | US
    mov dword [PT1 + 0*4], NP_PTE
    mov dword [PT1 + 1*4], 0x51000 | P | RW
    mov dword [PT1 + 2*4], 0x52000 | P | US
    mov dword [PT1 + 3*4], 0x53000 | P | RW | US
    mov dword [PT1 + 5*4], 0x55000 | P | RW | US
    ; page contents
    mov dword [0x51000], 0xa1a1a1a1
    mov dword [0x52000], 0xa2a2a2a2
    mov dword [0x54000], 0xa4a4a4a4
    mov word [0x53ffe], 0x78b8                     ; mov eax, imm32: B8 78 | 56 34 12
    mov dword [0x55000], 0x11111111                ; REP MOVSD source
    mov dword [0x55004], 0x22222222
    mov dword [0x55008], 0x33333333
    mov dword [0x5500c], 0x44444444
    mov dword [VAR_CR2], 0xdeadbeef
    mov dword [VAR_EXC_COUNT], 0

    mov eax, PD
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG | CR0_WP
    mov cr0, eax
    jmp .paged
.paged:

    ; ---- 1. ring 0 data accesses ----------------------------------------------------
    PRINT "pagefault: ring 0 data", 10
    mov eax, 0x5555aaaa
    SET_RECOVERY .r0_np_read_done
.r0_np_read:
    mov eax, [0x400000]
    NO_PF
.r0_np_read_done:
    CHECK_PF 0, 0x400000, .r0_np_read, "ring 0 read, PTE not present"
    CHECK32 eax, 0x5555aaaa, "r0 read, PTE not present: eax kept"

    ; LEAVE whose frame pointer leads to a not-present page: the pop faults
    ; and ESP and EBP stay as they were (ESP = EBP happens only with the pop).
    mov esi, esp
    mov ebp, 0x400100
    SET_RECOVERY .r0_leave_done
.r0_leave:
    leave
    NO_PF
.r0_leave_done:
    CHECK_PF 0, 0x400100, .r0_leave, "ring 0 leave, frame on a not-present page"
    CHECK32 ebp, 0x400100, "r0 leave fault: ebp kept"
    mov edi, esp
    CHECK32 edi, esi, "r0 leave fault: esp kept"

%ifndef QEMU
    ; SDM Vol. 3A 4.8 (see the header): Bochs and vemu leave A clear in the PDE
    mov dword [PD + 1*4], PT1 | P | RW | US
    invlpg [0x400000]
    SET_RECOVERY .pde_a_done
.pde_a_read:
    mov eax, [0x400010]
    NO_PF
.pde_a_done:
    CHECK_PF 0, 0x400010, .pde_a_read, "PDE A test"
    CHECK32 [PD + 1*4], PT1 | P | RW | US, "PDE A after a walk faulting at the PTE"
    mov eax, 0x5555aaaa
%endif

    SET_RECOVERY .r0_np_write_done
.r0_np_write:
    mov dword [0x400ffc], 0x12345678
    NO_PF
.r0_np_write_done:
    CHECK_PF 2, 0x400ffc, .r0_np_write, "ring 0 write, PTE not present"

    SET_RECOVERY .r0_split_write_done
.r0_split_write:
    mov [0x403ffe], eax
    NO_PF
.r0_split_write_done:
    CHECK_PF 2, 0x404000, .r0_split_write, "r0 write straddling into a not-present page"

    SET_RECOVERY .r0_npde_read_done
.r0_npde_read:
    mov eax, [0xc00123]
    NO_PF
.r0_npde_read_done:
    CHECK_PF 0, 0xc00123, .r0_npde_read, "ring 0 read, PDE not present"
    CHECK32 eax, 0x5555aaaa, "r0 read, PDE not present: eax kept"

    SET_RECOVERY .r0_npde_write_done
.r0_npde_write:
    mov byte [0xc00456], 1
    NO_PF
.r0_npde_write_done:
    CHECK_PF 2, 0xc00456, .r0_npde_write, "ring 0 write, PDE not present"

    ; read-only user page, WP=1; A/D cleared first: the faulting write sets no D
    CHECK32 [0x402000], 0xa2a2a2a2, "r0 read of a read-only page"
    mov dword [PT1 + 2*4], 0x52000 | P | US
    invlpg [0x402000]
    SET_RECOVERY .r0_ro_write_done
.r0_ro_write:
    mov dword [0x402008], 0x99999999
    NO_PF
.r0_ro_write_done:
    CHECK_PF 3, 0x402008, .r0_ro_write, "r0 write to a read-only page, WP=1"
    CHECK32 [0x52008], 0, "r0 faulting write: memory kept"
    mov eax, [PT1 + 2*4]
    and eax, ~ACC                                  ; A on a faulting walk: not checked
    CHECK32 eax, 0x52000 | P | US, "r0 faulting write: D clear"

    ; PDE read-only (user), PTE R/W: the AND is read-only
    CHECK32 [0x1000000], 0xa4a4a4a4, "r0 read, read-only PDE"
    SET_RECOVERY .r0_rdpde_write_done
.r0_rdpde_write:
    mov word [0x1000010], 0x7777
    NO_PF
.r0_rdpde_write_done:
    CHECK_PF 3, 0x1000010, .r0_rdpde_write, "r0 write, PDE read-only, PTE R/W, WP=1"
    CHECK32 [PT2 + 0*4], 0x54000 | ACC | P | RW | US, "r0 write, read-only PDE: D clear"
    ; supervisor PDE, user PTE: ring 0 may read and write
    CHECK32 [0x800000], 0xa4a4a4a4, "r0 read, PDE supervisor"
    mov dword [0x800004], 0xb4b4b4b4
    CHECK_NO_EXC "r0 write, PDE supervisor"
    CHECK32 [0x54004], 0xb4b4b4b4, "r0 write via 0x800004"
    CHECK32 [PT1 + 0*4], NP_PTE, "not-present PTE kept"

    ; ---- 2. ring 0 instruction fetch -------------------------------------------------
    PRINT "pagefault: ring 0 fetch", 10
    SET_RECOVERY .r0_fetch_done
    jmp 0x400000
    NO_PF
.r0_fetch_done:
    CHECK_PF 0, 0x400000, 0x400000, "r0 fetch, not present"
    CHECK32 [VAR_EXC_CS], SEL_CODE32, "r0 fetch: cs"

    mov [VAR_SAVED_ESP], esp
    SET_RECOVERY .r0_call_done
    call 0x400ff0
.r0_call_ret:
    NO_PF
.r0_call_done:
    CHECK_PF 0, 0x400ff0, 0x400ff0, "r0 call to a not-present page"
    mov ebx, [esp]
    CHECK32 ebx, .r0_call_ret, "call: return address pushed"
    add esp, 4
    mov ebx, esp
    CHECK32 ebx, [VAR_SAVED_ESP], "call: esp"

    SET_RECOVERY .r0_split_fetch_done
    jmp 0x403ffe
    NO_PF
.r0_split_fetch_done:
    CHECK_PF 0, 0x404000, 0x403ffe, "r0 straddling fetch"

    ; ---- 3. REP MOVSD into a not-present page, restarted -----------------------------
    PRINT "pagefault: rep movsd", 10
    mov esi, 0x405000
    mov edi, 0x405ff8
    mov ecx, 4
    SET_RECOVERY .movs_fault
.movs:
    rep movsd
    jmp .movs_done
.movs_fault:
    CHECK_PF 2, 0x406000, .movs, "rep movsd fault"
    CHECK32 ecx, 2, "rep movsd fault: ecx"
    CHECK32 esi, 0x405008, "rep movsd fault: esi"
    CHECK32 edi, 0x406000, "rep movsd fault: edi"
    CHECK32 [0x55ff8], 0x11111111, "rep movsd fault: dword 1"
    CHECK32 [0x55ffc], 0x22222222, "rep movsd fault: dword 2"
    mov dword [PT1 + 6*4], 0x56000 | P | RW | US
    invlpg [0x406000]                              ; P 0->1: avoids a spurious #PF (4.10.4.3)
    jmp .movs                                      ; restart (no recovery label set)
.movs_done:
    CHECK_NO_EXC "rep movsd restarted"
    CHECK32 ecx, 0, "rep movsd restarted: ecx"
    CHECK32 esi, 0x405010, "rep movsd restarted: esi"
    CHECK32 edi, 0x406008, "rep movsd restarted: edi"
    CHECK32 [0x56000], 0x33333333, "rep movsd restarted: dword 3"
    CHECK32 [0x56004], 0x44444444, "rep movsd restarted: dword 4"
    CHECK32 [0x55ff8], 0x11111111, "rep movsd restarted: dword 1"

    ; ---- 4. ring 3 -------------------------------------------------------------------
    PRINT "pagefault: ring 3", 10
    mov dword [VAR_CONT], ring3_back
    mov eax, ring3_main
    mov ebx, SEL_CODE32_R3
    mov ecx, SEL_DATA32_R3
    mov edx, STACK3_TOP
    jmp go_outer
ring3_back:
    ; ---- 5. ring 1 -------------------------------------------------------------------
    PRINT "pagefault: ring 1", 10
    mov dword [VAR_CONT], ring1_back
    mov eax, ring1_main
    mov ebx, SEL_CODE32_R1
    mov ecx, SEL_DATA32_R1
    mov edx, RING1_TOP
    jmp go_outer
ring1_back:
    CHECK32 [PT1 + 0*4], NP_PTE, "not-present PTE kept (end)"
    CHECK32 [PD + 3*4], 0, "not-present PDE kept"
    CHECK_NO_EXC "end of test"
    PASS

; ---- ring 3 tests ------------------------------------------------------------------------
ring3_main:
    mov ax, SEL_DATA32_R3
    mov ds, ax
    mov es, ax
    CHECK32 cs, SEL_CODE32_R3, "r3 cs"

    SET_RECOVERY .sup_read_done
.sup_read:
    mov eax, [0x401000]
    NO_PF
.sup_read_done:
    CHECK_PF 5, 0x401000, .sup_read, "r3 read, supervisor page"
    CHECK32 [VAR_EXC_CS], SEL_CODE32_R3, "r3 fault: cs"

    SET_RECOVERY .sup_write_done
.sup_write:
    mov dword [0x401ffc], eax
    NO_PF
.sup_write_done:
    CHECK_PF 7, 0x401ffc, .sup_write, "r3 write, supervisor page"

    CHECK32 [0x402000], 0xa2a2a2a2, "r3 read, read-only page"
    CHECK_NO_EXC "r3 read, read-only page"
    SET_RECOVERY .ro_write_done
.ro_write:
    mov word [0x402010], 0x5555
    NO_PF
.ro_write_done:
    CHECK_PF 7, 0x402010, .ro_write, "r3 write, read-only page"
    CHECK32 [0x52010], 0, "r3 faulting write: memory kept"
    CHECK32 [PT1 + 2*4], 0x52000 | ACC | P | US, "r3 faulting write: D clear"

    ; PDE supervisor, PTE user: supervisor
    SET_RECOVERY .spde_read_done
.spde_read:
    mov al, [0x800003]
    NO_PF
.spde_read_done:
    CHECK_PF 5, 0x800003, .spde_read, "r3 read, PDE supervisor, PTE user"
    SET_RECOVERY .spde_write_done
.spde_write:
    mov dword [0x800008], 0
    NO_PF
.spde_write_done:
    CHECK_PF 7, 0x800008, .spde_write, "r3 write, PDE supervisor, PTE user"

    ; PDE user read-only, PTE user R/W: read-only
    CHECK32 [0x1000004], 0xb4b4b4b4, "r3 read, read-only PDE"
    CHECK_NO_EXC "r3 read, read-only PDE"
    SET_RECOVERY .rpde_write_done
.rpde_write:
    mov dword [0x1000004], 0
    NO_PF
.rpde_write_done:
    CHECK_PF 7, 0x1000004, .rpde_write, "r3 write, PDE read-only, PTE R/W"
    CHECK32 [0x54004], 0xb4b4b4b4, "r3 write, read-only PDE: memory kept"

    ; not present
    SET_RECOVERY .np_read_done
.np_read:
    mov eax, [0x400100]
    NO_PF
.np_read_done:
    CHECK_PF 4, 0x400100, .np_read, "r3 read, PTE not present"
    SET_RECOVERY .np_write_done
.np_write:
    mov [0x400200], eax
    NO_PF
.np_write_done:
    CHECK_PF 6, 0x400200, .np_write, "r3 write, PTE not present"
    SET_RECOVERY .npde_read_done
.npde_read:
    mov eax, [0xc00000]
    NO_PF
.npde_read_done:
    CHECK_PF 4, 0xc00000, .npde_read, "r3 read, PDE not present"

    ; instruction fetch
    SET_RECOVERY .np_fetch_done
    jmp 0x400000
    NO_PF
.np_fetch_done:
    CHECK_PF 4, 0x400000, 0x400000, "r3 fetch, not present"
    SET_RECOVERY .sup_fetch_done
    jmp 0x401000
    NO_PF
.sup_fetch_done:
    CHECK_PF 5, 0x401000, 0x401000, "r3 fetch, supervisor page"
    SET_RECOVERY .split_fetch_done
    jmp 0x403ffe
    NO_PF
.split_fetch_done:
    CHECK_PF 4, 0x404000, 0x403ffe, "r3 straddling fetch"

    ; PUSH into a not-present page
    mov esp, 0x401000
    SET_RECOVERY .push_done
.push:
    push dword 0x13572468
    NO_PF
.push_done:
    mov [VAR_SAVED_ESP], esp
    mov esp, STACK3_TOP
    CHECK_PF 6, 0x400ffc, .push, "r3 push, not present"
    CHECK32 [VAR_SAVED_ESP], 0x401000, "r3 push fault: esp kept"
    CHECK32 [STACK_ESP0_TOP - 8], 0x401000, "r3 push fault: esp in frame"
    CHECK32 [STACK_ESP0_TOP - 24], 6, "r3 push fault: error in frame"
    int 0x80

; ---- ring 1 tests: supervisor accesses ---------------------------------------------------
ring1_main:
    mov ax, SEL_DATA32_R1
    mov ds, ax
    mov es, ax
    CHECK32 cs, SEL_CODE32_R1, "r1 cs"
    CHECK32 [0x401000], 0xa1a1a1a1, "r1 read, supervisor page"
    CHECK_NO_EXC "r1 read, supervisor page"

    SET_RECOVERY .ro_write_done
.ro_write:
    mov dword [0x40200c], 0
    NO_PF
.ro_write_done:
    CHECK_PF 3, 0x40200c, .ro_write, "r1 write, read-only page, WP=1"

    mov esp, 0x401000
    SET_RECOVERY .push_done
.push:
    push dword 0x13572468
    NO_PF
.push_done:
    mov [VAR_SAVED_ESP], esp
    mov esp, RING1_TOP
    CHECK_PF 2, 0x400ffc, .push, "r1 push, not present"
    CHECK32 [VAR_EXC_CS], SEL_CODE32_R1, "r1 fault: cs"
    CHECK32 [VAR_SAVED_ESP], 0x401000, "r1 push fault: esp kept"
    CHECK32 [STACK_ESP0_TOP - 8], 0x401000, "r1 push fault: esp in frame"
    int 0x80

; ---- helpers -------------------------------------------------------------------------------
; go_outer: IRET to EBX:EAX with SS:ESP = ECX:EDX, IOPL 3 (so that a failing check
; can still print), IF=0
go_outer:
    push ecx
    push edx
    push dword FL_IOPL | 2
    push ebx
    push eax
    iretd

; int 0x80 from ring 1/3: back to ring 0, continue at [VAR_CONT]
back_to_ring0:
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov esp, STACK0_TOP
    push dword 2
    popfd
    jmp [VAR_CONT]

; #PF: record CR2, then the library recorder (rom_pm_stub for vector 14)
pf_handler:
    push eax
    mov eax, cr2
    mov [ss:VAR_CR2], eax
    pop eax
    jmp rom_pm_stub0 + 14 * (rom_pm_stub1 - rom_pm_stub0)

; check_pf(error, cr2, eip, msg): see CHECK_PF; preserves all registers but EFLAGS
check_pf:
    pushad
    mov esi, [esp + 32 + 16]
    mov edi, str_count + 0xF0000
    mov eax, [VAR_EXC_COUNT]
    mov edx, 1
    cmp eax, edx
    jne .fail
    mov edi, str_vector + 0xF0000
    mov eax, [VAR_EXC_VECTOR]
    mov edx, 14
    cmp eax, edx
    jne .fail
    mov edi, str_error + 0xF0000
    mov eax, [VAR_EXC_ERROR]
    mov edx, [esp + 32 + 4]
    cmp eax, edx
    jne .fail
    mov edi, str_cr2 + 0xF0000
    mov eax, [VAR_CR2]
    mov edx, [esp + 32 + 8]
    cmp eax, edx
    jne .fail
    mov edi, str_eip + 0xF0000
    mov eax, [VAR_EXC_EIP]
    mov edx, [esp + 32 + 12]
    cmp eax, edx
    jne .fail
    mov dword [VAR_EXC_COUNT], 0
    mov dword [VAR_EXC_VECTOR], 0xffffffff
    mov dword [VAR_EXC_ERROR], 0xeeeeeeee
    mov dword [VAR_CR2], 0xdeadbeef
    popad
    ret 16
.fail:
    ; "FAIL: what (field): got X expected Y"
    push esi
    mov esi, rom_str_fail + 0xF0000
    call rom_puts32
    pop esi
    call rom_puts32
    mov esi, edi
    call rom_puts32
    mov esi, rom_str_got + 0xF0000
    call rom_puts32
    call rom_puthex32
    mov esi, rom_str_expected + 0xF0000
    call rom_puts32
    mov eax, edx
    call rom_puthex32
    mov esi, rom_str_nl + 0xF0000
    call rom_puts32
    mov al, 1
    jmp rom_exit32

[section .rodata]
str_count:  db " (exception count)", 0
str_vector: db " (vector)", 0
str_error:  db " (error code)", 0
str_cr2:    db " (cr2)", 0
str_eip:    db " (eip)", 0

CODE32
; no_pf: reached when an expected #PF did not happen
no_pf:
    PRINT "FAIL: no #PF; returned to "
    pop eax
    call rom_puthex32
    PRINT 10
    mov al, 1
    jmp rom_exit32
