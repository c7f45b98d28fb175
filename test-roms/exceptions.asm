; exceptions.asm: the exceptions 0-17 that can be raised at CPL 0/3 without devices, in
; 32-bit protected mode: vector, error code, saved EIP (the faulting instruction for
; faults, the next instruction for traps), plus interrupt gate vs trap gate.
;
; SDM Vol. 3A chapter 6: 6.5 "Exception Classifications" (fault: saved CS:EIP = the
; faulting instruction; trap: the next one), 6.12.1.2 "Flag Usage By Exception- or
; Interrupt-Handler Procedure" (both gates clear TF, NT, RF, VM; an interrupt gate also
; clears IF, a trap gate leaves it), 6.13 "Error Code" (selector index | TI, EXT/IDT bits;
; RPL not reported), 6.15 "Exception and Interrupt Reference":
;   #DE  0  DIV by 0, DIV/IDIV quotient overflow (8 and 32-bit)        fault, no error
;   #DB  1  TF single step: trap after the instruction following POPFD, DR6.BS (bit 14)
;           set, handler entered with TF=0, TF=1 in the saved EFLAGS
;           (Vol. 3B "Single-Step Exception Condition", "Debug Status Register (DR6)")
;   #BP  3  INT3                                                       trap
;   #OF  4  INTO with OF=1                                             trap
;   #BR  5  BOUND out of range                                         fault
;   #UD  6  UD2, MOV CS (8E /1), LOCK on a register operand / on NOP   fault
;   #NM  7  CR0.EM=1: an x87 instruction (FNINIT); CR0.MP=1,TS=1: WAIT; not with MP=0
;           (WAIT), nor EM=1,TS=0 (WAIT); CLTS clears TS     (Vol. 3A table 2-2, CLTS)
;   #TS 10  IRET with NT=1 and a back link that is not a busy TSS (a data segment, an
;           available TSS, a TI=1 selector); JMP to a TSS whose limit is < 67H
;           (error code = the TSS selector)                     (Vol. 2A IRET, JMP operation)
;   #NP 11  MOV DS of a not-present data segment (error = selector, RPL bits dropped);
;           JMP far to a not-present code segment                (Vol. 2B MOV, Vol. 2A JMP)
;   #SS 12  MOV SS of a not-present writable data segment (error = selector)
;   #GP 13  MOV SS of the null selector (error 0), of a selector with RPL != CPL, of a
;           read-only data segment; MOV DS of an execute-only code segment, of a selector
;           past the GDT limit; LTR of a data segment; JMP far past the CS limit (error 0);
;           HLT and MOV from CR0 at CPL 3 (error 0)
;   #PF 14  4 MiB PSE mapping of the first 4 MiB, read and write of a not-present page:
;           error code 0 / 2, CR2 = the linear address
;   #AC 17  CPL 3, CR0.AM=1, EFLAGS.AC=1: misaligned dword read (error 0); none when
;           aligned, when AC=0, when AM=0, or at CPL 0              (Vol. 3A 6.15 #AC)
;   With Bochs only (QEMU 7.2 does not check segment limits / types on data accesses):
;   #SS(0) for an SS-relative access past the SS limit; #GP(0) for a write through CS, a
;   write to a read-only data segment, a read through a null DS, a read past the FS limit.
; Not here: #DF (doublefault.asm), NMI (2) and #MC (18) need hardware, vector 9 is not
; generated after the i386, 15 is reserved, #MF (16) needs an x87 FPU: the target has none.
;
; The gate test runs with IF=1 for a few instructions: the 8259 PICs are masked first
; (OCW1 = FF) so that no device interrupt can come in.
%include "rom.inc"

SEL_NP_DATA3    equ 0x40    ; data, DPL 3, not present
SEL_NP_CODE     equ 0x48    ; 32-bit code, not present
SEL_NP_DATA0    equ 0x50    ; writable data, DPL 0, not present
SEL_RO_DATA     equ 0x58    ; read-only data, present
SEL_XO_CODE     equ 0x60    ; execute-only code
SEL_SHORT_TSS   equ 0x68    ; 32-bit TSS, limit 0x40
SEL_AVAIL_TSS   equ 0x70    ; 32-bit available TSS
SEL_SMALL_SS    equ 0x78    ; writable data, byte limit 0x7fff, B=1

PD_BASE         equ 0x20000 ; page directory for #PF
TSS2_BASE       equ 0x11000

CR0_MP equ 0x2
CR0_EM equ 0x4
CR0_TS equ 0x8
CR0_AM equ 0x40000
CR0_PG equ 0x80000000
FL_AC  equ 0x40000

V_RING0 equ 0x30            ; DPL 3 interrupt gate: back to ring 0
V_INTG  equ 0x31            ; interrupt gate
V_TRAPG equ 0x32            ; trap gate
CONT    equ VAR_SCRATCH + 0x7c  ; where the V_RING0 handler continues

CODE16
main:
    ENTER_PM32 pm_main

CODE32
; set_gate: EAX = handler, ECX = vector, EDX = attribute word (e.g. 0x8e00); selector
; SEL_CODE32
set_gate:
    push eax
    mov [IDT_BASE + ecx*8], ax
    mov word [IDT_BASE + ecx*8 + 2], SEL_CODE32
    mov [IDT_BASE + ecx*8 + 4], dx
    shr eax, 16
    mov [IDT_BASE + ecx*8 + 6], ax
    pop eax
    ret

pm_main:
    PRINT "exceptions: protected mode", 10
    SETDESC SEL_NP_DATA3, 0, 0xfffff, 0x73, FLG_4K32
    SETDESC SEL_NP_CODE, 0, 0xfffff, 0x1b, FLG_4K32
    SETDESC SEL_NP_DATA0, 0, 0xfffff, 0x13, FLG_4K32
    SETDESC SEL_RO_DATA, 0, 0xfffff, 0x91, FLG_4K32
    SETDESC SEL_XO_CODE, 0, 0xfffff, 0x99, FLG_4K32
    SETDESC SEL_SHORT_TSS, TSS2_BASE, 0x40, ACC_TSS32, 0
    SETDESC SEL_AVAIL_TSS, TSS2_BASE, 0x67, ACC_TSS32, 0
    SETDESC SEL_SMALL_SS, 0, 0x7fff, ACC_DATA_W, FLG_32
    mov ax, SEL_TSS
    ltr ax
    mov eax, ring0_return
    mov ecx, V_RING0
    mov edx, 0xee00                 ; present, DPL 3, 32-bit interrupt gate
    call set_gate
    mov eax, gate_handler
    mov ecx, V_INTG
    mov edx, 0x8e00                 ; interrupt gate
    call set_gate
    mov ecx, V_TRAPG
    mov edx, 0x8f00                 ; trap gate
    call set_gate

    ; ---------------- #DE ----------------
    SET_RECOVERY .de1
    xor ecx, ecx
.de0:
    div ecx
.de1:
    CHECK_EXC 0, 0xffffffff, "#DE div by 0"
    CHECK32 [VAR_EXC_EIP], .de0, "#DE: eip = the div"
    CHECK32 [VAR_EXC_CS], SEL_CODE32, "#DE: cs"
    CHECK32 [VAR_EXC_ESP], STACK0_TOP - 12, "#DE: eip/cs/eflags pushed"
    SET_RECOVERY .de3
    mov eax, 0x80000000
    cdq
    mov ecx, -1
.de2:
    idiv ecx                        ; +2^31 does not fit
.de3:
    CHECK_EXC 0, 0xffffffff, "#DE idiv overflow"
    CHECK32 [VAR_EXC_EIP], .de2, "#DE idiv: eip"
    SET_RECOVERY .de5
    mov ax, 0x100
    mov cl, 1
.de4:
    div cl                          ; 0x100 does not fit in AL
.de5:
    CHECK_EXC 0, 0xffffffff, "#DE div r8 overflow"
    CHECK32 [VAR_EXC_EIP], .de4, "#DE div r8: eip"
    CHECK16 ax, 0x100, "#DE: ax unchanged"

    ; ---------------- #DB single step ----------------
    mov eax, [IDT_BASE + 8]         ; keep the recorder's gate 1
    mov [VAR_SCRATCH+0x40], eax
    mov eax, [IDT_BASE + 12]
    mov [VAR_SCRATCH+0x44], eax
    mov eax, db_handler
    mov ecx, 1
    mov edx, 0x8e00
    call set_gate
    xor eax, eax
    mov dr6, eax
    mov dword [VAR_SCRATCH+16], 0
    push dword FL_TF | 2
    popfd                           ; no trap after the POPFD itself
    mov ebx, 0x1234                 ; executes with TF=1, then #DB
.db1:
    nop
    CHECK32 [VAR_SCRATCH+16], 1, "#DB single step: one trap"
    CHECK32 [VAR_SCRATCH], .db1, "#DB single step: eip = the next instruction"
    CHECK32 [VAR_SCRATCH+4], FL_TF | 2, "#DB single step: saved eflags (tf set)"
    CHECK32 [VAR_SCRATCH+8], 2, "#DB single step: handler runs with tf=0"
    mov eax, [VAR_SCRATCH+12]
    and eax, 0x0000400f
    CHECK32 eax, 0x4000, "#DB single step: dr6.bs set, b0-b3 clear"
    CHECK32 ebx, 0x1234, "#DB single step: the instruction completed"
    mov eax, [VAR_SCRATCH+0x40]
    mov [IDT_BASE + 8], eax
    mov eax, [VAR_SCRATCH+0x44]
    mov [IDT_BASE + 12], eax

    ; ---------------- #BP, #OF, #BR ----------------
    SET_RECOVERY .bp1
    int3
.bp1:
    CHECK_EXC 3, 0xffffffff, "#BP int3"
    CHECK32 [VAR_EXC_EIP], .bp1, "#BP: eip = next instruction (trap)"
    mov al, 0x80
    sub al, 1                       ; OF=1
    SET_RECOVERY .of1
    into
.of1:
    CHECK_EXC 4, 0xffffffff, "#OF into"
    CHECK32 [VAR_EXC_EIP], .of1, "#OF: eip = next instruction (trap)"
    mov dword [VAR_SCRATCH], 0
    mov dword [VAR_SCRATCH+4], 9
    mov eax, 10
    SET_RECOVERY .br1
.br0:
    bound eax, [VAR_SCRATCH]
.br1:
    CHECK_EXC 5, 0xffffffff, "#BR bound"
    CHECK32 [VAR_EXC_EIP], .br0, "#BR: eip = the bound (fault)"

    ; ---------------- #UD ----------------
    SET_RECOVERY .ud1
.ud0:
    ud2
.ud1:
    CHECK_EXC 6, 0xffffffff, "#UD ud2"
    CHECK32 [VAR_EXC_EIP], .ud0, "#UD ud2: eip"
    SET_RECOVERY .ud3
.ud2:
    db 0x8e, 0xc8                   ; mov cs, ax
.ud3:
    CHECK_EXC 6, 0xffffffff, "#UD mov cs"
    CHECK32 [VAR_EXC_EIP], .ud2, "#UD mov cs: eip"
    CHECK_SEG cs, SEL_CODE32, "#UD mov cs: cs unchanged"
    SET_RECOVERY .ud5
    mov eax, 1
.ud4:
    db 0xf0, 0x01, 0xd8             ; lock add eax, ebx
.ud5:
    CHECK_EXC 6, 0xffffffff, "#UD lock add reg, reg"
    CHECK32 [VAR_EXC_EIP], .ud4, "#UD lock: eip = the prefix"
    CHECK32 eax, 1, "#UD lock: eax unchanged"
    SET_RECOVERY .ud7
.ud6:
    db 0xf0, 0x90                   ; lock nop
.ud7:
    CHECK_EXC 6, 0xffffffff, "#UD lock nop"
    CHECK32 [VAR_EXC_EIP], .ud6, "#UD lock nop: eip"

    ; ---------------- #NM ----------------
    mov eax, cr0
    mov [VAR_SCRATCH+0x48], eax
    and eax, ~(CR0_MP | CR0_TS)
    or eax, CR0_EM
    mov cr0, eax
    SET_RECOVERY .nm1
.nm0:
    fninit                          ; DB E3 with EM=1
.nm1:
    CHECK_EXC 7, 0xffffffff, "#NM x87 instruction with cr0.em=1"
    CHECK32 [VAR_EXC_EIP], .nm0, "#NM em: eip"
    SET_RECOVERY 0
    wait                            ; EM=1, TS=0: WAIT is not affected by EM
    CHECK_NO_EXC "wait with em=1 ts=0"
    mov eax, cr0
    and eax, ~CR0_EM
    or eax, CR0_MP | CR0_TS
    mov cr0, eax
    SET_RECOVERY .nm3
.nm2:
    wait
.nm3:
    CHECK_EXC 7, 0xffffffff, "#NM wait with mp=1 ts=1"
    CHECK32 [VAR_EXC_EIP], .nm2, "#NM wait: eip"
    mov eax, cr0
    and eax, ~CR0_MP
    mov cr0, eax
    SET_RECOVERY 0
    wait                            ; MP=0: WAIT ignores TS
    CHECK_NO_EXC "wait with mp=0 ts=1"
    clts
    mov eax, cr0
    and eax, CR0_TS
    CHECK32 eax, 0, "clts clears cr0.ts"
    mov eax, [VAR_SCRATCH+0x48]
    mov cr0, eax

    ; ---------------- #TS ----------------
    mov word [TSS_BASE], SEL_DATA32 ; back link: not a TSS
    push dword FL_NT | 2
    popfd
    SET_RECOVERY .ts1
.ts0:
    iretd                           ; NT=1: task return through the back link
.ts1:
    call clear_nt
    CHECK_EXC 10, SEL_DATA32, "#TS iret: back link is a data segment"
    CHECK32 [VAR_EXC_EIP], .ts0, "#TS iret: eip = the iret"
    CHECK16 [VAR_EXC_EFLAGS], FL_NT | 2, "#TS iret: saved eflags (nt)"
    mov word [TSS_BASE], SEL_AVAIL_TSS  ; a TSS, but not busy
    push dword FL_NT | 2
    popfd
    SET_RECOVERY .ts3
.ts2:
    iretd
.ts3:
    call clear_nt
    CHECK_EXC 10, SEL_AVAIL_TSS, "#TS iret: back link to an available tss"
    CHECK32 [VAR_EXC_EIP], .ts2, "#TS iret (available): eip"
    mov word [TSS_BASE], SEL_TSS | 4    ; TI=1 (LDT)
    push dword FL_NT | 2
    popfd
    SET_RECOVERY .ts5
    iretd
.ts5:
    call clear_nt
    CHECK_EXC 10, SEL_TSS | 4, "#TS iret: back link with ti=1"
    mov word [TSS_BASE], 0
    SET_RECOVERY .ts7
.ts6:
    jmp SEL_SHORT_TSS:0             ; TSS limit 0x40 < 0x67
.ts7:
    CHECK_EXC 10, SEL_SHORT_TSS, "#TS jmp to a tss with limit < 67h"
    CHECK32 [VAR_EXC_EIP], .ts6, "#TS jmp: eip = the jmp"
    str ax
    CHECK16 ax, SEL_TSS, "#TS jmp: tr unchanged"

    ; ---------------- #NP ----------------
    SET_RECOVERY .np1
    mov ax, SEL_NP_DATA3 | 3        ; RPL 3 = DPL 3: only the P bit is wrong
.np0:
    mov ds, ax
.np1:
    CHECK_EXC 11, SEL_NP_DATA3, "#NP mov ds (rpl not in the error code)"
    CHECK32 [VAR_EXC_EIP], .np0, "#NP mov ds: eip"
    CHECK_SEG ds, SEL_DATA32, "#NP mov ds: ds unchanged"
    SET_RECOVERY .np3
.np2:
    jmp SEL_NP_CODE:.np3
.np3:
    CHECK_EXC 11, SEL_NP_CODE, "#NP jmp far to a not-present code segment"
    CHECK32 [VAR_EXC_EIP], .np2, "#NP jmp far: eip"
    CHECK_SEG cs, SEL_CODE32, "#NP jmp far: cs unchanged"

    ; ---------------- #SS ----------------
    SET_RECOVERY .ss1
    mov ax, SEL_NP_DATA0
.ss0:
    mov ss, ax
.ss1:
    CHECK_EXC 12, SEL_NP_DATA0, "#SS mov ss not present"
    CHECK32 [VAR_EXC_EIP], .ss0, "#SS mov ss: eip"
    CHECK_SEG ss, SEL_DATA32, "#SS: ss unchanged"

    ; ---------------- #GP ----------------
    SET_RECOVERY .gp1
    xor eax, eax
.gp0:
    mov ss, ax
.gp1:
    CHECK_EXC 13, 0, "#GP mov ss, null"
    CHECK32 [VAR_EXC_EIP], .gp0, "#GP mov ss null: eip"
    SET_RECOVERY .gp3
    mov ax, SEL_DATA32_R3           ; RPL 3 != CPL 0
    mov ss, ax
.gp3:
    CHECK_EXC 13, SEL_DATA32_R3 & 0xfffc, "#GP mov ss, rpl != cpl"
    SET_RECOVERY .gp5
    mov ax, SEL_RO_DATA
    mov ss, ax
.gp5:
    CHECK_EXC 13, SEL_RO_DATA, "#GP mov ss, read-only data"
    SET_RECOVERY .gp7
    mov ax, SEL_XO_CODE
.gp6:
    mov ds, ax
.gp7:
    CHECK_EXC 13, SEL_XO_CODE, "#GP mov ds, execute-only code"
    CHECK32 [VAR_EXC_EIP], .gp6, "#GP mov ds: eip"
    SET_RECOVERY .gp9
    mov ax, GDT_LIMIT + 1 + 8       ; index past the GDT limit
    mov es, ax
.gp9:
    CHECK_EXC 13, GDT_LIMIT + 1 + 8, "#GP mov es, past the gdt limit"
    SET_RECOVERY .gp11
    mov ax, SEL_DATA32
    ltr ax
.gp11:
    CHECK_EXC 13, SEL_DATA32, "#GP ltr of a data segment"
    SET_RECOVERY .gp13
.gp12:
    jmp SEL_CODE16:0x10000          ; past the 64 KiB limit
.gp13:
    CHECK_EXC 13, 0, "#GP jmp far past the cs limit"
    CHECK32 [VAR_EXC_EIP], .gp12, "#GP jmp far past the limit: eip"
    CHECK_SEG cs, SEL_CODE32, "#GP jmp far: cs unchanged"
    CHECK_SEG ss, SEL_DATA32, "#GP: ss unchanged"
    CHECK_SEG es, SEL_DATA32, "#GP: es unchanged"

%ifndef QEMU
    ; Data-access checks (SDM Vol. 3A 5.3 "Limit Checking", 5.4 "Type Checking" and
    ; 5.4.1 "Null Segment Selector Checking"; Vol. 3A 6.15 #SS, #GP). QEMU 7.2 makes none
    ; of them.
    PRINT "exceptions: segment limit/type checks on data accesses", 10
    mov ax, SEL_SMALL_SS            ; limit 0x7fff; ESP stays below it
    mov ss, ax
    mov ebp, 0x8000
    SET_RECOVERY .sl1
.sl0:
    mov eax, [ebp]                  ; SS-relative, past the SS limit
.sl1:
    mov ax, SEL_DATA32
    mov ss, ax
    CHECK_EXC 12, 0, "#SS(0) ss-relative access past the limit"
    CHECK32 [VAR_EXC_EIP], .sl0, "#SS(0): eip"
    SET_RECOVERY .sl3
.sl2:
    mov [cs:VAR_SCRATCH], eax       ; code segments are never writable
.sl3:
    CHECK_EXC 13, 0, "#GP(0) write through cs"
    CHECK32 [VAR_EXC_EIP], .sl2, "#GP(0) write through cs: eip"
    mov ax, SEL_RO_DATA
    mov es, ax
    mov eax, [es:VAR_SCRATCH]       ; reading is fine
    CHECK_NO_EXC "read of a read-only data segment"
    SET_RECOVERY .sl5
    mov [es:VAR_SCRATCH], eax
.sl5:
    mov ax, SEL_DATA32
    mov es, ax
    CHECK_EXC 13, 0, "#GP(0) write to a read-only data segment"
    SET_RECOVERY .sl7
    xor eax, eax
    mov ds, ax                      ; a null selector can be loaded...
.sl6:
    mov eax, [0x500]                ; ...but not used
.sl7:
    mov ax, SEL_DATA32
    mov ds, ax
    CHECK_EXC 13, 0, "#GP(0) read through a null ds"
    CHECK32 [VAR_EXC_EIP], .sl6, "#GP(0) null ds: eip"
    mov ax, SEL_DATA16
    mov fs, ax
    SET_RECOVERY .sl9
    mov eax, [fs:0xfffe]            ; bytes 0xfffe-0x10001: past the limit 0xffff
.sl9:
    CHECK_EXC 13, 0, "#GP(0) read past the fs limit"
    mov ax, SEL_DATA32
    mov fs, ax
%endif

    ; ---------------- #PF ----------------
    mov edi, PD_BASE
    xor eax, eax
    mov ecx, 1024
    rep stosd
    mov dword [PD_BASE], 0x00000083 ; 4 MiB page at 0: present, writable, PS
    mov eax, cr4
    or eax, 0x10                    ; CR4.PSE
    mov cr4, eax
    mov eax, PD_BASE
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    jmp .pg_on
.pg_on:
    mov eax, [VAR_SCRATCH]          ; mapped: fine
    CHECK_NO_EXC "paging on: read of a mapped page"
    SET_RECOVERY .pf1
.pf0:
    mov eax, [0x400004]             ; PDE 1 not present
.pf1:
    CHECK_EXC 14, 0, "#PF read not present: error code"
    CHECK32 [VAR_EXC_EIP], .pf0, "#PF read: eip"
    mov eax, cr2
    CHECK32 eax, 0x400004, "#PF read: cr2"
    SET_RECOVERY .pf3
.pf2:
    mov [0x801234], eax
.pf3:
    CHECK_EXC 14, 2, "#PF write not present: error code (w/r=1)"
    CHECK32 [VAR_EXC_EIP], .pf2, "#PF write: eip"
    mov eax, cr2
    CHECK32 eax, 0x801234, "#PF write: cr2"
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
    jmp .pg_off
.pg_off:

    ; ---------------- interrupt gate vs trap gate ----------------
    mov al, 0xff                    ; mask every 8259 input
    out 0x21, al
    out 0xa1, al
    push dword FL_NT | FL_CF | 2
    popfd
    sti                             ; IF=1 from here, the INT is in the STI shadow
    int V_INTG
.ig1:
    call clear_nt
    CHECK32 [VAR_SCRATCH+0x20], FL_CF | 2, "interrupt gate: handler eflags (if, nt cleared)"
    CHECK32 [VAR_SCRATCH+0x24], FL_NT | FL_IF | FL_CF | 2, "interrupt gate: saved eflags"
    CHECK32 [VAR_SCRATCH+0x28], .ig1, "interrupt gate: saved eip"
    CHECK32 [VAR_SCRATCH+0x2c], STACK0_TOP - 12, "interrupt gate: esp in the handler"
    push dword FL_NT | FL_ZF | 2
    popfd
    sti
    int V_TRAPG
.tg1:
    call clear_nt
    CHECK32 [VAR_SCRATCH+0x20], FL_IF | FL_ZF | 2, "trap gate: handler eflags (if kept, nt cleared)"
    CHECK32 [VAR_SCRATCH+0x24], FL_NT | FL_IF | FL_ZF | 2, "trap gate: saved eflags"
    CHECK32 [VAR_SCRATCH+0x28], .tg1, "trap gate: saved eip"
    CHECK_FLAGS FL_IF, 0, "gate handlers returned with IF=0"

    ; ---------------- #AC and CPL 3 ----------------
    mov eax, cr0
    or eax, CR0_AM
    mov cr0, eax
    push dword FL_AC | 2
    popfd
    mov eax, [VAR_SCRATCH+1]        ; CPL 0: no alignment check
    CHECK_NO_EXC "misaligned read at cpl 0 with am=1 ac=1"
    push dword 2
    popfd
    mov dword [CONT], .ring0_a
    mov ebx, ring3_a
    mov eax, FL_AC | FL_IOPL | 2
    jmp to_ring3
.ring0_a:
    mov eax, cr0
    and eax, ~CR0_AM
    mov cr0, eax
    mov dword [CONT], .ring0_b
    mov ebx, ring3_b
    mov eax, FL_AC | FL_IOPL | 2
    jmp to_ring3
.ring0_b:
    CHECK_SEG cs, SEL_CODE32, "back at cpl 0"
    PASS

; ---- CPL 3 code (DS=ES=SEL_DATA32_R3, IOPL 3 so that PRINT works) ----
ring3_a:
    PRINT "exceptions: cpl 3", 10
    CHECK_SEG cs, SEL_CODE32_R3, "ring 3: cs"
    mov eax, [VAR_SCRATCH]          ; aligned
    CHECK_NO_EXC "aligned read at cpl 3 with am=1 ac=1"
%ifndef QEMU
    ; SDM Vol. 3A 6.15 "Interrupt 17-Alignment Check Exception (#AC)": QEMU 7.2 (TCG)
    ; does not implement alignment checking.
    SET_RECOVERY .ac1
.ac0:
    mov eax, [VAR_SCRATCH+2]        ; misaligned dword
.ac1:
    CHECK_EXC 17, 0, "#AC misaligned read at cpl 3"
    CHECK32 [VAR_EXC_EIP], .ac0, "#AC: eip"
    CHECK32 [VAR_EXC_CS], SEL_CODE32_R3, "#AC: saved cs"
    CHECK32 [VAR_EXC_ESP], STACK_ESP0_TOP - 20, "#AC: frame on the ring-0 stack"
    SET_RECOVERY .ac3
    mov ax, [VAR_SCRATCH+1]
.ac3:
    CHECK_EXC 17, 0, "#AC misaligned word at cpl 3"
    SET_RECOVERY .ac5
.ac4:
    mov [VAR_SCRATCH+0x31], ebx     ; misaligned write
.ac5:
    CHECK_EXC 17, 0, "#AC misaligned write at cpl 3"
    CHECK32 [VAR_EXC_EIP], .ac4, "#AC write: eip"
%endif
    SET_RECOVERY 0
    mov eax, [VAR_SCRATCH+4]
    mov al, [VAR_SCRATCH+1]
    mov ax, [VAR_SCRATCH+2]
    CHECK_NO_EXC "aligned accesses at cpl 3"
    pushfd
    and dword [esp], ~FL_AC
    popfd
    mov eax, [VAR_SCRATCH+2]
    CHECK_NO_EXC "misaligned read at cpl 3 with ac=0"
    SET_RECOVERY .pr1
.pr0:
    hlt
.pr1:
    CHECK_EXC 13, 0, "#GP hlt at cpl 3"
    CHECK32 [VAR_EXC_EIP], .pr0, "#GP hlt at cpl 3: eip"
    SET_RECOVERY .pr3
    mov eax, cr0
.pr3:
    CHECK_EXC 13, 0, "#GP mov from cr0 at cpl 3"
    int V_RING0
ring3_b:
    mov eax, [VAR_SCRATCH+2]
    CHECK_NO_EXC "misaligned read at cpl 3 with am=0"
    int V_RING0

; to_ring3: EBX = target, EAX = EFLAGS; DS/ES = SEL_DATA32_R3, ESP = STACK3_TOP
to_ring3:
    mov cx, SEL_DATA32_R3
    mov ds, cx
    mov es, cx
    mov fs, cx
    mov gs, cx
    push dword SEL_DATA32_R3
    push dword STACK3_TOP
    push eax
    push dword SEL_CODE32_R3
    push ebx
    iretd

; V_RING0 (DPL 3 gate): drop the frame, flat ring-0 segments, continue at [CONT]
ring0_return:
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, STACK0_TOP
    push dword 2
    popfd
    jmp [CONT]

clear_nt:
    pushfd
    and dword [esp], ~FL_NT
    popfd
    ret

; #DB handler for the single-step test: records EIP, saved EFLAGS, its own EFLAGS, DR6,
; counts, and clears TF in the saved EFLAGS
db_handler:
    push eax
    mov eax, [esp+4]
    mov [VAR_SCRATCH], eax
    mov eax, [esp+12]
    mov [VAR_SCRATCH+4], eax
    pushfd
    pop eax
    mov [VAR_SCRATCH+8], eax
    mov eax, dr6
    mov [VAR_SCRATCH+12], eax
    inc dword [VAR_SCRATCH+16]
    and dword [esp+12], ~FL_TF
    pop eax
    iretd

; interrupt/trap gate handler: records its EFLAGS (first instruction), the saved EFLAGS
; and EIP, ESP; returns with IF=0 in the saved EFLAGS
gate_handler:
    pushfd
    cli
    pop dword [VAR_SCRATCH+0x20]
    mov [VAR_SCRATCH+0x2c], esp
    push eax
    mov eax, [esp+12]
    mov [VAR_SCRATCH+0x24], eax
    mov eax, [esp+4]
    mov [VAR_SCRATCH+0x28], eax
    and dword [esp+12], ~FL_IF
    pop eax
    iretd
