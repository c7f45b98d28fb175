; system.asm: system instructions and registers, at CPL 0 and CPL 3.
;
; MOV CR page, SDM Vol 3 2.5 "Control Registers":
;   - CR0 after reset is 60000010h (Vol 3 Table 9-1); ET (bit 4) is hardwired to 1
;     (reserved on the Pentium, "hardcoded to 1" on P6 and later): writing 0 reads 1
;   - CR0 round trip of MP EM TS NE WP AM NW CD; NW=1 with CD=0 -> #GP(0); PG=1
;     with PE=0 -> #GP(0) (CR0 unchanged)
;   - CR2 round trip; CR3 round trip (PCD/PWT and the base); CR4 round trip of
;     TSD DE PSE PGE; a reserved CR4 bit (31) -> #GP(0)
; Paging (Vol 3 4.3, 4.10.4.1 INVLPG page): with CR4.PSE 4 MiB identity pages,
;   after a PDE is changed INVLPG makes the new translation visible; WBINVD and
;   INVD execute at CPL 0.
; MOV DR page, Vol 3 17.2: DR0-DR3 round trip; DR6 reads FFFF0FF0h with bits 0-3
;   and 13-15 as written (bit 12 is never written 1: not tested);
;   DR7 bit 10 reads 1; with CR4.DE=0 DR4/DR5 alias DR6/DR7, with CR4.DE=1 they
;   are #UD; DR7.GD: the next MOV DR is a #DB fault (EIP at the MOV) with DR6.BD
;   set and GD cleared.
; LGDT/LIDT/SGDT/SIDT pages: 32-bit forms load/store the 32-bit base; the 16-bit
;   LGDT/LIDT load a 24-bit base (high byte 0); the 16-bit SGDT/SIDT store 6 bytes
;   (checked only with a base whose high byte is 0: for a base >= 16 MiB the
;   Pentium-era SDM says the sixth byte is stored as 0 while the current SGDT
;   Operation stores the full 32-bit base; QEMU 7.2 does the first, Bochs the
;   second).
; LLDT/SLDT, LTR/STR pages: LLDT null ok; LLDT of a non-LDT, TI=1, past-limit ->
;   #GP(sel), not present -> #NP(sel); LTR sets the busy bit (89h -> 8Bh, 81h ->
;   83h); LTR of a busy TSS, a non-TSS, TI=1 -> #GP(sel), null -> #GP(0), not
;   present -> #NP(sel); SLDT/STR/SMSW to memory write 16 bits (to a register only
;   the low 16 bits are compared: the upper half is model specific).
; LMSW page: loads only PE MP EM TS, cannot clear PE. SMSW. CLTS clears only TS.
; RDMSR/WRMSR: SYSENTER_CS/ESP/EIP (174h-176h) round trip.
; MOV page / Vol 3 6.8.3 and 17.3.1.4: single-step (TF) traps are inhibited after
;   MOV SS and POP SS until the next instruction has run: the traps are counted
;   and their EIPs logged with a private #DB handler; DR6.BS is set.
; CPL 3 (IRET to ring 3, TSS.ESP0 stack for the exceptions, back through call
; gates), "Protected Mode Exceptions" of each page:
;   - #GP(0), EIP at the instruction: MOV from/to CR0, from CR2/CR3, to CR4, MOV from DR7, to DR0,
;     LGDT, LIDT, LLDT, LTR, LMSW, CLTS, INVLPG, HLT, WBINVD, INVD, RDMSR, WRMSR;
;     the exception frame is on the TSS.ESP0 stack
;   - SGDT, SIDT, SLDT, STR, SMSW run at CPL 3 (no UMIP on this CPU)
;   - IOPL 3: CLI/STI work; IOPL 0: CLI, STI, IN -> #GP(0), POPF leaves IF and IOPL
;   - CR4.TSD=1: RDTSC at CPL 3 -> #GP(0), at CPL 0 it works (and counts up)
; Checks may fail at CPL 3: fail_report first returns to ring 0 through a call
; gate (IOPL may be 0 there) and reloads flat ring-0 segments.
%macro FAIL_REPORT_PROLOGUE 0
    push eax
    mov ax, cs
    test al, 3
    pop eax
    jz fail_ring0
    call SEL_FAILGATE | 3:0         ; EAX, EDX, ESI, EBX kept
fail_ring0:
    mov cx, SEL_DATA32
    mov ds, cx
    mov es, cx
    mov ss, cx
    mov esp, STACK0_TOP
%endmacro

%include "rom.inc"
%include "checks.inc"

; SETGATE selector, offset, target selector, access (call gate, no parameters)
%macro SETGATE 4
    mov eax, %2
    mov word [GDT_BASE + (%1)], ax
    mov word [GDT_BASE + (%1) + 2], %3
    mov word [GDT_BASE + (%1) + 4], (%4) << 8
    shr eax, 16
    mov word [GDT_BASE + (%1) + 6], ax
%endmacro
; CHKCR crN, expected, "what"
%macro CHKCR 3+
    push eax
    mov eax, %1
    CHK eax, %2, %3
    pop eax
%endmacro
; CHKFL mask, expected, "what": (EFLAGS & mask) == expected
%macro CHKFL 3+
    pushfd
    push eax
    mov eax, [esp+4]
    and eax, %1
    CHK eax, %2, %3
    pop eax
    popfd
%endmacro

CR0_PE equ 0x1
CR0_MP equ 0x2
CR0_EM equ 0x4
CR0_TS equ 0x8
CR0_ET equ 0x10
CR0_NE equ 0x20
CR0_WP equ 0x10000
CR0_AM equ 0x40000
CR0_NW equ 0x20000000
CR0_CD equ 0x40000000
CR0_PG equ 0x80000000
CR4_TSD equ 0x4
CR4_DE  equ 0x8
CR4_PSE equ 0x10
CR4_PGE equ 0x80

PD_BASE     equ 0x20000         ; page directory (4 MiB pages)
LDT_BASE    equ 0x11000
TSS16_BASE  equ 0x4000
DB_COUNT    equ 0x12000
DB_LOG      equ 0x12004

SEL_LDT     equ 0x40            ; LDT descriptor
SEL_LDTNP   equ 0x48            ; LDT descriptor, not present
SEL_TSS16   equ 0x50            ; 16-bit available TSS
SEL_TSSNP   equ 0x58            ; 32-bit TSS, not present
SEL_GATE1   equ 0x60            ; DPL 3 call gate -> ring0_back1
SEL_GATE2   equ 0x68            ; DPL 3 call gate -> ring0_back2
SEL_FAILGATE equ 0x70           ; DPL 3 call gate -> fail_ring0

CODE16
main:
    mov al, 0xff                    ; mask both PICs: no device interrupts
    out 0x21, al
    out 0xa1, al
    PRINT "system", 10
    ENTER_PM32 pm_main

CODE32
pm_main:
    SETDESC SEL_LDT,   LDT_BASE, 0x0f, 0x82, 0
    SETDESC SEL_LDTNP, LDT_BASE, 0x0f, 0x02, 0
    SETDESC SEL_TSS16, TSS16_BASE, 0x2b, 0x81, 0
    SETDESC SEL_TSSNP, TSS_BASE, 0x67, 0x09, 0
    SETGATE SEL_GATE1, ring0_back1, SEL_CODE32, 0xec
    SETGATE SEL_GATE2, ring0_back2, SEL_CODE32, 0xec
    SETGATE SEL_FAILGATE, fail_ring0, SEL_CODE32, 0xec
    mov dword [LDT_BASE], 0x0000ffff          ; LDT entry 0: data
    mov dword [LDT_BASE + 4], 0x00009300
    ; page directory: 4 MiB identity pages for 0-8 MiB, entry 3 (c00000) -> 0
    mov edi, PD_BASE
    xor eax, eax
    mov ecx, 1024
    rep stosd
    mov dword [PD_BASE + 0], 0x00000083
    mov dword [PD_BASE + 4], 0x00400083
    mov dword [PD_BASE + 12], 0x00000083

    ; ------------------------------------------------------------------------ CR0
    PRINT "system: cr0", 10
    CHKCR cr0, 0x60000011, "cr0 after reset + PE"
    mov eax, CR0_PE | CR0_CD | CR0_NW         ; ET written 0
    mov cr0, eax
    CHKCR cr0, CR0_PE | CR0_ET | CR0_CD | CR0_NW, "cr0.ET reads 1 after writing 0"
    mov eax, CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD
    mov cr0, eax
    CHKCR cr0, 0x6005003f, "cr0 round trip (MP EM TS NE WP AM NW CD)"
    mov eax, CR0_PE | CR0_ET | CR0_CD
    mov cr0, eax
    CHKCR cr0, 0x40000011, "cr0 CD=1 NW=0"
    mov eax, CR0_PE | CR0_ET
    mov cr0, eax
    CHKCR cr0, 0x00000011, "cr0 CD=0 NW=0"
%ifndef QEMU
    ; MOV CR page "Protected Mode Exceptions": #GP(0) for invalid CR0 bit
    ; combinations (NW=1 with CD=0, PG=1 with PE=0). QEMU 7.2 accepts both.
    mov eax, CR0_PE | CR0_ET | CR0_NW
    TRYEXC {mov cr0, eax}, 13, 0, "cr0 NW=1 with CD=0"
    ; a PG=1 PE=0 write must fault; the identity mapping is there in case it doesn't
    mov eax, PD_BASE
    mov cr3, eax
    mov eax, CR4_PSE
    mov cr4, eax
    mov eax, CR0_PG | CR0_ET
    TRYEXC {mov cr0, eax}, 13, 0, "cr0 PG=1 with PE=0"
    CHKCR cr0, 0x00000011, "cr0 unchanged by the faulting writes"
%endif

    ; ------------------------------------------------------------- CR2, CR3, CR4
    PRINT "system: cr2 cr3 cr4", 10
    mov eax, 0xdeadbeef
    mov cr2, eax
    CHKCR cr2, 0xdeadbeef, "cr2 round trip"
    xor eax, eax
    mov cr2, eax
    CHKCR cr2, 0, "cr2 = 0"
    mov eax, 0x7fffd018                       ; base 7fffd000, PCD, PWT
    mov cr3, eax
    CHKCR cr3, 0x7fffd018, "cr3 round trip"
    mov eax, CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE
    mov cr4, eax
    CHKCR cr4, 0x9c, "cr4 round trip TSD DE PSE PGE"
    mov eax, CR4_PGE
    mov cr4, eax
    CHKCR cr4, CR4_PGE, "cr4 = PGE"
%ifndef QEMU
    ; MOV CR page: #GP(0) when a reserved CR4 bit is set. QEMU 7.2 (TCG, outside
    ; an SVM guest) hangs here instead.
    mov eax, 0x80000000 | CR4_PSE
    TRYEXC {mov cr4, eax}, 13, 0, "cr4 reserved bit 31"
    CHKCR cr4, CR4_PGE, "cr4 unchanged by the fault"
%endif

    ; -------------------------------------------------------------------- paging
    PRINT "system: paging, invlpg", 10
    mov eax, CR4_PSE
    mov cr4, eax
    mov eax, PD_BASE
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    jmp .pg_on
.pg_on:
    mov dword [VAR_SCRATCH], 0x0a0b0c0d
    mov dword [0x400000 + VAR_SCRATCH], 0x01020304
    CHK [0xc00000 + VAR_SCRATCH], 0x0a0b0c0d, "pde 3 maps linear c00000 to 0"
    mov dword [PD_BASE + 12], 0x00400083      ; now to 400000
    invlpg [0xc00000 + VAR_SCRATCH]
    CHK [0xc00000 + VAR_SCRATCH], 0x01020304, "after invlpg: c00000 maps to 400000"
    wbinvd
    invd
    call noexc_helper
    db "wbinvd, invd", 0
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
    jmp .pg_off
.pg_off:
    CHKCR cr0, 0x00000011, "cr0 after paging off"
    xor eax, eax
    mov cr4, eax

    ; ----------------------------------------------------------------------- DRx
    PRINT "system: debug registers", 10
    mov eax, 0x11111111
    mov dr0, eax
    mov eax, 0x22222222
    mov dr1, eax
    mov eax, 0x33333333
    mov dr2, eax
    mov eax, 0xfffffffc
    mov dr3, eax
    CHKCR dr0, 0x11111111, "dr0"
    CHKCR dr1, 0x22222222, "dr1"
    CHKCR dr2, 0x33333333, "dr2"
    CHKCR dr3, 0xfffffffc, "dr3"
    xor eax, eax
    mov dr6, eax
    CHKCR dr6, 0xffff0ff0, "dr6 written 0"
    mov eax, 0x0000e00f
    mov dr6, eax
    CHKCR dr6, 0xffffefff, "dr6 written e00fh"
    xor eax, eax
    mov dr7, eax
    CHKCR dr7, 0x00000400, "dr7 written 0"
    mov eax, 0x507d0300                       ; R/W and LEN fields, LE GE; no enables
    mov dr7, eax
    CHKCR dr7, 0x507d0700, "dr7 round trip"
    ; CR4.DE=0: DR4/DR5 are DR6/DR7
    CHKCR dr4, 0xffffefff, "dr4 reads dr6 (CR4.DE=0)"
    CHKCR dr5, 0x507d0700, "dr5 reads dr7 (CR4.DE=0)"
    xor eax, eax
    mov dr5, eax
    CHKCR dr7, 0x00000400, "mov dr5 wrote dr7 (CR4.DE=0)"
    mov dr4, eax
    CHKCR dr6, 0xffff0ff0, "mov dr4 wrote dr6 (CR4.DE=0)"
    mov eax, CR4_DE
    mov cr4, eax
    TRYEXC {mov eax, dr4}, 6, -1, "mov from dr4 with CR4.DE=1"
    TRYEXC {mov dr5, eax}, 6, -1, "mov to dr5 with CR4.DE=1"
    xor eax, eax
    mov cr4, eax
%ifndef QEMU
    ; SDM Vol 3 17.2.4 (DR7.GD) and 17.2.3 (DR6.BD): with GD set the next MOV
    ; DR is a #DB fault; the processor sets BD and clears GD when it delivers it.
    ; QEMU 7.2 does not implement GD.
    mov eax, 0x2400
    mov dr7, eax
    mov ebx, 0x12345678
    TRYEXC {mov ebx, dr0}, 1, -1, "mov from dr0 with DR7.GD=1"
    CHK ebx, 0x12345678, "GD fault: ebx not written"
    CHKCR dr6, 0xffff2ff0, "GD fault: DR6.BD set"
    CHKCR dr7, 0x00000400, "GD fault: DR7.GD cleared"
    xor eax, eax
    mov dr6, eax
%endif

    ; ----------------------------------------------------------- GDTR and IDTR
    PRINT "system: lgdt lidt sgdt sidt", 10
    mov edi, VAR_SCRATCH
    mov dword [edi], 0xcccccccc
    mov dword [edi+4], 0xcccccccc
    sgdt [edi]
    CHK [edi], 0x000000ff | (GDT_BASE << 16), "sgdt: limit, base low"
    CHK [edi+4], 0xcccc0000 | (GDT_BASE >> 16), "sgdt: base high, 6 bytes only"
    mov dword [edi], 0xcccccccc
    mov dword [edi+4], 0xcccccccc
    o16 sgdt [edi]
    CHK [edi], 0x000000ff | (GDT_BASE << 16), "o16 sgdt: limit, base low"
    CHK [edi+4], 0xcccc0000 | (GDT_BASE >> 16), "o16 sgdt: base 23:16 and 0, 6 bytes"
    mov dword [edi], 0xcccccccc
    mov dword [edi+4], 0xcccccccc
    sidt [edi]
    CHK [edi], IDT_LIMIT | (IDT_BASE << 16), "sidt: limit, base low"
    CHK [edi+4], 0xcccc0000 | (IDT_BASE >> 16), "sidt: base high"
    mov dword [edi], 0xcccccccc
    mov dword [edi+4], 0xcccccccc
    o16 sidt [edi]
    CHK [edi], IDT_LIMIT | (IDT_BASE << 16), "o16 sidt: limit, base low"
    CHK [edi+4], 0xcccc0000 | (IDT_BASE >> 16), "o16 sidt: 6 bytes"
    ; no exception may happen while GDTR/IDTR hold these test values
    mov word [edi+8], 0x1234                  ; limit 1234h, base ab345678h
    mov dword [edi+10], 0xab345678
    lgdt [edi+8]
    sgdt [edi+16]
    o16 lgdt [edi+8]
    sgdt [edi+24]
    lidt [edi+8]
    sidt [edi+32]
    o16 lidt [edi+8]
    sidt [edi+40]
    lgdt [cs:gdtr_std]
    lidt [cs:idtr_std]
    CHK16 [edi+16], 0x1234, "lgdt: limit"
    CHK [edi+18], 0xab345678, "lgdt: 32-bit base"
    CHK16 [edi+24], 0x1234, "o16 lgdt: limit"
    CHK [edi+26], 0x00345678, "o16 lgdt: 24-bit base"
    CHK16 [edi+32], 0x1234, "lidt: limit"
    CHK [edi+34], 0xab345678, "lidt: 32-bit base"
    CHK16 [edi+40], 0x1234, "o16 lidt: limit"
    CHK [edi+42], 0x00345678, "o16 lidt: 24-bit base"
    sgdt [edi]
    CHK [edi+2], GDT_BASE, "gdtr restored"

    ; -------------------------------------------------------------- LLDT / SLDT
    PRINT "system: lldt sldt", 10
    mov ax, SEL_LDT
    TRYOK {lldt ax}, "lldt"
    mov ebx, 0xffffffff
    sldt bx
    CHK ebx, 0xffff0000 | SEL_LDT, "sldt bx"
    sldt ecx
    CHK16 cx, SEL_LDT, "sldt ecx (low 16 bits)"
    mov dword [VAR_SCRATCH], 0xcccccccc
    sldt [VAR_SCRATCH]
    CHK [VAR_SCRATCH], 0xcccc0000 | SEL_LDT, "sldt m16 writes 16 bits"
    mov ax, 0x04
    TRYOK {mov es, ax}, "LDT selector after lldt"
    mov ax, SEL_DATA32
    mov es, ax
    mov ax, SEL_DATA32
    TRYEXC {lldt ax}, 13, SEL_DATA32, "lldt of a data segment"
    mov ax, SEL_TSS
    TRYEXC {lldt ax}, 13, SEL_TSS, "lldt of a TSS"
    mov ax, 0x04
    TRYEXC {lldt ax}, 13, 0x04, "lldt with TI=1"
    mov ax, 0x100
    TRYEXC {lldt ax}, 13, 0x100, "lldt past the GDT limit"
    mov ax, SEL_LDTNP
    TRYEXC {lldt ax}, 11, SEL_LDTNP, "lldt of a not-present LDT"
    sldt ax
    CHK16 ax, SEL_LDT, "ldtr unchanged by the faults"
    xor eax, eax
    TRYOK {lldt ax}, "lldt null"
    mov ebx, 0xffffffff
    sldt bx
    CHK ebx, 0xffff0000, "sldt after lldt null"

    ; ---------------------------------------------------------------- LTR / STR
    PRINT "system: ltr str", 10
    CHK8 [GDT_BASE + SEL_TSS16 + 5], 0x81, "16-bit TSS available"
    mov ax, SEL_TSS16
    TRYOK {ltr ax}, "ltr 16-bit TSS"
    CHK8 [GDT_BASE + SEL_TSS16 + 5], 0x83, "ltr marks the 16-bit TSS busy"
    CHK8 [GDT_BASE + SEL_TSS + 5], 0x89, "32-bit TSS available"
    mov ax, SEL_TSS
    TRYOK {ltr ax}, "ltr 32-bit TSS"
    CHK8 [GDT_BASE + SEL_TSS + 5], 0x8b, "ltr marks the 32-bit TSS busy"
    mov ebx, 0xffffffff
    str bx
    CHK ebx, 0xffff0000 | SEL_TSS, "str bx"
    str ecx
    CHK16 cx, SEL_TSS, "str ecx (low 16 bits)"
    mov dword [VAR_SCRATCH], 0xcccccccc
    str [VAR_SCRATCH]
    CHK [VAR_SCRATCH], 0xcccc0000 | SEL_TSS, "str m16 writes 16 bits"
    TRYEXC {ltr ax}, 13, SEL_TSS, "ltr of a busy TSS"
    mov ax, SEL_TSS16
    TRYEXC {ltr ax}, 13, SEL_TSS16, "ltr of a busy 16-bit TSS"
%ifndef QEMU
    ; LTR page, Operation: "IF SRC is a NULL selector THEN #GP(0)". QEMU 7.2 loads
    ; a null TR instead.
    xor eax, eax
    TRYEXC {ltr ax}, 13, 0, "ltr null"
    mov ax, 3
    TRYEXC {ltr ax}, 13, 0, "ltr null (RPL 3)"
%endif
    mov ax, SEL_DATA32
    TRYEXC {ltr ax}, 13, SEL_DATA32, "ltr of a data segment"
    mov ax, SEL_LDT
    TRYEXC {ltr ax}, 13, SEL_LDT, "ltr of an LDT descriptor"
    mov ax, SEL_TSS | 4
    TRYEXC {ltr ax}, 13, SEL_TSS | 4, "ltr with TI=1"
    mov ax, SEL_TSSNP
    TRYEXC {ltr ax}, 11, SEL_TSSNP, "ltr of a not-present TSS"
    CHK8 [GDT_BASE + SEL_TSSNP + 5], 0x09, "not-present TSS not marked busy"
    str bx
    CHK16 bx, SEL_TSS, "tr unchanged by the faults"

    ; ------------------------------------------------------- LMSW / SMSW / CLTS
    PRINT "system: lmsw smsw clts", 10
    mov eax, CR0_PE | CR0_ET | CR0_NE | CR0_WP
    mov cr0, eax
    mov ax, 0xfff0                  ; PE=0 MP=0 EM=0 TS=0, high bits ignored
    lmsw ax
    CHKCR cr0, CR0_PE | CR0_ET | CR0_NE | CR0_WP, "lmsw fff0: PE stays, bits 4-15 unchanged"
    mov ax, 0xffce                  ; MP EM TS set, PE=0
    lmsw ax
    CHKCR cr0, CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP, "lmsw ffceh: MP EM TS set"
    mov word [VAR_SCRATCH], 0x0000
    lmsw [VAR_SCRATCH]
    CHKCR cr0, CR0_PE | CR0_ET | CR0_NE | CR0_WP, "lmsw m16 0: MP EM TS cleared, PE stays"
    mov ax, 0x0008
    lmsw ax
    mov ebx, 0xffffffff
    smsw bx
    CHK ebx, 0xffff0000 | CR0_PE | CR0_TS | CR0_ET | CR0_NE, "smsw bx"
    smsw ecx
    CHK16 cx, CR0_PE | CR0_TS | CR0_ET | CR0_NE, "smsw ecx (low 16 bits)"
    mov dword [VAR_SCRATCH], 0xcccccccc
    smsw [VAR_SCRATCH]
    CHK [VAR_SCRATCH], 0xcccc0000 | CR0_PE | CR0_TS | CR0_ET | CR0_NE, "smsw m16 writes 16 bits"
    mov eax, CR0_PE | CR0_MP | CR0_TS | CR0_ET | CR0_WP | CR0_AM
    mov cr0, eax
    clts
    CHKCR cr0, CR0_PE | CR0_MP | CR0_ET | CR0_WP | CR0_AM, "clts clears TS only"
    clts
    CHKCR cr0, CR0_PE | CR0_MP | CR0_ET | CR0_WP | CR0_AM, "clts with TS=0"
    mov eax, CR0_PE | CR0_ET
    mov cr0, eax

    ; ---------------------------------------------------------------------- MSRs
    PRINT "system: rdmsr wrmsr", 10
    mov ecx, 0x174
    mov eax, SEL_CODE32
    xor edx, edx
    wrmsr
    mov ecx, 0x175
    mov eax, 0x12345678
    wrmsr
    mov ecx, 0x176
    mov eax, 0x87654321
    wrmsr
    mov ecx, 0x174
    mov eax, JUNK
    mov edx, JUNK
    rdmsr
    CHK eax, SEL_CODE32, "rdmsr SYSENTER_CS: eax"
    CHK edx, 0, "rdmsr SYSENTER_CS: edx"
    mov ecx, 0x175
    rdmsr
    CHK eax, 0x12345678, "rdmsr SYSENTER_ESP"
    mov ecx, 0x176
    rdmsr
    CHK eax, 0x87654321, "rdmsr SYSENTER_EIP"

    ; ---------------------------------------------- single step over MOV SS / POP SS
    PRINT "system: single step and mov ss", 10
    mov esi, IDT_BASE + 8
    push dword [esi]
    push dword [esi+4]
    mov eax, db_handler
    mov [esi], ax
    shr eax, 16
    mov [esi+6], ax
    xor eax, eax
    mov dr6, eax
    mov dword [DB_COUNT], 0
    mov ebx, SEL_DATA32
    pushfd
    or dword [esp], FL_TF
    popfd                           ; no trap after the POPF that sets TF
tf_1: nop
tf_2: mov ss, bx                    ; trap inhibited
tf_3: nop
tf_4: push ebx
tf_5: pop ss                        ; trap inhibited
tf_6: nop
tf_stop:                            ; the handler clears TF here
    pop dword [esi+4]
    pop dword [esi]
    CHK [DB_COUNT], 4, "single step: number of traps"
    CHK [DB_LOG], tf_2, "single step: trap 1 after nop"
    CHK [DB_LOG+4], tf_4, "single step: trap 2 after mov ss + nop"
    CHK [DB_LOG+8], tf_5, "single step: trap 3 after push"
    CHK [DB_LOG+12], tf_stop, "single step: trap 4 after pop ss + nop"
    CHKCR dr6, 0xffff4ff0, "single step: DR6.BS"
    CHKFL FL_TF, 0, "TF clear after the test"

    ; --------------------------------------------------------- CPL 3, IOPL 3
    PRINT "system: cpl 3, iopl 3", 10
    push dword SEL_DATA32_R3
    push dword STACK3_TOP
    push dword 0x3002               ; IOPL 3, IF 0
    push dword SEL_CODE32_R3
    push dword ring3_a
    iretd
ring3_a:
    mov ax, SEL_DATA32_R3
    mov ds, ax
    mov es, ax
    CHKSEG cs, SEL_CODE32_R3, "cpl 3"
    TRYEXC {mov eax, cr0}, 13, 0, "cpl 3: mov eax, cr0"
    CHK [VAR_EXC_ESP], STACK_ESP0_TOP - 20, "cpl 3: #GP frame on the TSS.ESP0 stack"
    CHK [VAR_EXC_CS], SEL_CODE32_R3, "cpl 3: #GP pushed cs"
    TRYEXC {mov cr0, eax}, 13, 0, "cpl 3: mov cr0, eax"
    TRYEXC {mov eax, cr3}, 13, 0, "cpl 3: mov eax, cr3"
    TRYEXC {mov cr4, eax}, 13, 0, "cpl 3: mov cr4, eax"
    TRYEXC {mov eax, cr2}, 13, 0, "cpl 3: mov eax, cr2"
    TRYEXC {mov eax, dr7}, 13, 0, "cpl 3: mov eax, dr7"
    TRYEXC {mov dr0, eax}, 13, 0, "cpl 3: mov dr0, eax"
    TRYEXC {lgdt [VAR_SCRATCH]}, 13, 0, "cpl 3: lgdt"
    TRYEXC {lidt [VAR_SCRATCH]}, 13, 0, "cpl 3: lidt"
    xor eax, eax
    TRYEXC {lldt ax}, 13, 0, "cpl 3: lldt"
    mov ax, SEL_TSS
    TRYEXC {ltr ax}, 13, 0, "cpl 3: ltr"
    TRYEXC {lmsw ax}, 13, 0, "cpl 3: lmsw"
    TRYEXC {clts}, 13, 0, "cpl 3: clts"
    TRYEXC {invlpg [VAR_SCRATCH]}, 13, 0, "cpl 3: invlpg"
    TRYEXC {hlt}, 13, 0, "cpl 3: hlt"
    TRYEXC {wbinvd}, 13, 0, "cpl 3: wbinvd"
    TRYEXC {invd}, 13, 0, "cpl 3: invd"
    mov ecx, 0x174
    TRYEXC {rdmsr}, 13, 0, "cpl 3: rdmsr"
    TRYEXC {wrmsr}, 13, 0, "cpl 3: wrmsr"
    ; not privileged on this CPU
    mov edi, VAR_SCRATCH
    TRYOK {sgdt [edi]}, "cpl 3: sgdt"
    CHK [edi+2], GDT_BASE, "cpl 3: sgdt base"
    TRYOK {sidt [edi]}, "cpl 3: sidt"
    CHK [edi+2], IDT_BASE, "cpl 3: sidt base"
    mov ebx, 0xffffffff
    TRYOK {str bx}, "cpl 3: str"
    CHK ebx, 0xffff0000 | SEL_TSS, "cpl 3: str value"
    TRYOK {sldt bx}, "cpl 3: sldt"
    CHK ebx, 0xffff0000, "cpl 3: sldt value"
    TRYOK {smsw bx}, "cpl 3: smsw"
    CHK ebx, 0xffff0000 | CR0_PE | CR0_ET, "cpl 3: smsw value"
    ; IOPL 3: CLI/STI allowed (the PICs are masked)
    TRYOK {sti}, "cpl 3 iopl 3: sti"
    CHKFL FL_IF, FL_IF, "cpl 3 iopl 3: sti sets IF"
    TRYOK {cli}, "cpl 3 iopl 3: cli"
    CHKFL FL_IF, 0, "cpl 3 iopl 3: cli clears IF"
    TRYOK {rdtsc}, "cpl 3: rdtsc with CR4.TSD=0"
    call SEL_GATE1 | 3:0

ring0_back1:
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, STACK0_TOP
    CHKSEG cs, SEL_CODE32, "back at cpl 0"

    ; --------------------------------------------------- CPL 3, IOPL 0, TSD=1
    PRINT "system: cpl 3, iopl 0, cr4.tsd", 10
    mov eax, CR4_TSD
    mov cr4, eax
    push dword SEL_DATA32_R3
    push dword STACK3_TOP
    push dword 0x0002               ; IOPL 0, IF 0
    push dword SEL_CODE32_R3
    push dword ring3_b
    iretd
ring3_b:
    mov ax, SEL_DATA32_R3
    mov ds, ax
    mov es, ax
    TRYEXC {cli}, 13, 0, "cpl 3 iopl 0: cli"
    TRYEXC {sti}, 13, 0, "cpl 3 iopl 0: sti"
    TRYEXC {in al, 0x80}, 13, 0, "cpl 3 iopl 0: in"
    TRYEXC {rdtsc}, 13, 0, "cpl 3: rdtsc with CR4.TSD=1"
    push dword 0x3202               ; POPF at CPL 3: IF and IOPL stay
    TRYOK {popfd}, "cpl 3 iopl 0: popfd"
    CHKFL FL_IF | FL_IOPL, 0, "cpl 3 iopl 0: popfd left IF and IOPL"
    call SEL_GATE2 | 3:0

ring0_back2:
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, STACK0_TOP
    rdtsc
    mov ebx, eax
    mov ecx, edx
    rdtsc
    sub eax, ebx
    sbb edx, ecx
    CHK edx, 0, "cpl 0: rdtsc with CR4.TSD=1 works and does not go back"
    xor eax, eax
    mov cr4, eax
    call noexc_helper
    db "system: no stray exception", 0
    PASS

; private #DB handler: log the EIP of each trap, clear TF at tf_stop
db_handler:
    push eax
    push ebx
    mov ebx, [DB_COUNT]
    mov eax, [esp+8]
    cmp ebx, 16
    jae .stop
    mov [DB_LOG + ebx*4], eax
    inc dword [DB_COUNT]
    cmp eax, tf_stop
    jne .r
.stop:
    and dword [esp+16], ~FL_TF
.r: pop ebx
    pop eax
    iretd

gdtr_std: dw GDT_LIMIT
          dd GDT_BASE
idtr_std: dw IDT_LIMIT
          dd IDT_BASE

JUNK equ 0xdeadbeef

