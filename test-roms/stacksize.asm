; stacksize.asm: instructions and events that change SS, or the stack size, while
; they use the stack: which bits of ESP they read and write, under which stack
; size (SS.B) - the old stack's or the new one's.
;
; Checks, and the SDM text they follow (Bochs and QEMU agree on each):
;  - POP SS (16- and 32-bit operand size) from a 16-bit stack to a 32-bit one and
;    back: the stack pointer moves under the OLD stack size (SDM Vol 2 POP:
;    "DEST <- SS:ESP ... ESP <- ESP + 4" inside the branch on the stack-address size
;    taken before the load). A 16-bit stack wraps SP and keeps ESP's upper half.
;  - LSS r16 / r32: only SP, or all of ESP (SDM Vol 2 LDS/LES/LFS/LGS/LSS).
;  - INT n from CPL 3 to a ring-0 handler whose TSS stack (SS0) is 16-bit: the frame
;    goes below TSS SP0 and only SP is written; ESP's upper half stays the
;    interrupted one's (as Bochs and QEMU do, and Linux's espfix relies on).
;    IRETD to a 16-bit ring-3 stack loads only SP; the upper half stays the
;    inner ESP's (SDM Vol 2 IRET, RETURN-TO-OUTER-PRIVILEGE-LEVEL; Bochs, QEMU),
;    both from ESP 0x6FEC (giving 0x0FFC) and from 0x12340FEC.
;  - INT n at CPL 0 on a 16-bit stack: the frame below SP, ESP's upper half kept.
;  - CALL through a call gate from CPL 3 to ring 0 with a 16-bit SS0: as INT n.
;  - RETF imm16 from ring 0 (a 32-bit stack whose base wraps around 4 GiB, with
;    ESP = 0x8765FFE8) to ring 3 with a 16-bit stack: the parameters are released
;    on both stacks; SP = popped SP + imm, the upper half the inner ESP's
;    (SDM Vol 2 RET, RETURN-TO-OUTER-PRIVILEGE-LEVEL; Bochs return_protected).
;  - A task switch into a 16-bit (286) TSS: the general registers' low words come
;    from the TSS; their upper halves read all ones in Bochs 2.7, which vemu
;    follows (the SDM leaves them unspecified, Vol 3A 7.6; QEMU 7.2 keeps the
;    outgoing task's, so that check is left out under QEMU).
; ENTER and LEAVE with a 16-bit stack are in stack.asm.
%include "rom.inc"
%include "gates.inc"

SEL_S16         equ SEL_FREE            ; 16-bit data, DPL 0, base 0x10000, 64 KiB
SEL_S16_R3      equ (SEL_FREE + 0x08) | 3   ; 16-bit data, DPL 3, base 0x20000, 64 KiB
SEL_WRAP        equ SEL_FREE + 0x10     ; 32-bit data, DPL 0, base 0x789E0000, 4 GiB
SEL_TSS16       equ SEL_FREE + 0x18     ; 16-bit available TSS at TSS16_BASE
SEL_CGATE       equ SEL_FREE + 0x20     ; 32-bit call gate, DPL 3, to ring 0
S16_BASE        equ 0x10000
S16_R3_BASE     equ 0x20000
WRAP_BASE       equ 0x789E0000          ; + 0x8765FFE8 = 0x3FFE8 (mod 4 GiB)
TSS16_BASE      equ 0x4000
RESULT          equ VAR_SCRATCH         ; dwords the ring-3 code leaves for ring 0

CODE16
main:
    ENTER_PM32 pm_main

CODE32
pm_main:
    PRINT "stacksize: POP SS, LSS", 10
    mov al, 0xff
    out 0x21, al
    out 0xa1, al
    call setup_iomap
    SETDESC SEL_S16, S16_BASE, 0xffff, ACC_DATA_W, 0
    SETDESC SEL_S16_R3 & ~3, S16_R3_BASE, 0xffff, ACC_DATA_W | 0x60, 0
    SETDESC SEL_WRAP, WRAP_BASE, 0xfffff, ACC_DATA_W, FLG_4K32
    SETDESC SEL_TSS16, TSS16_BASE, 0x2b, 0x81, 0
    CGATE SEL_CGATE, SEL_CODE32, cgate_handler, 0xec00
    GATE 0x80, SEL_CODE32, int80_handler, 0xee00
    GATE 0x81, SEL_CODE32, int81_handler, 0x8e00
    GATE 0x83, SEL_CODE32, back_to_ring0, 0xee00
    GATE 0x84, SEL_CODE32, after_retf, 0xee00
    mov ax, SEL_TSS
    ltr ax

    ; ---- POP SS: 16-bit stack -> 32-bit stack ----
    mov ax, SEL_S16
    mov ss, ax
    mov esp, 0x1234fffe
    mov word [S16_BASE + 0xfffe], SEL_DATA32
    o16 pop ss
    mov ebp, esp
    mov esp, STACK0_TOP
    CHECK32 ebp, 0x12340000, "pop ss (o16), 16-bit to 32-bit stack: esp"
    CHECK32 ss, SEL_DATA32, "pop ss (o16): ss"
    mov ax, SEL_S16
    mov ss, ax
    mov esp, 0x1234fffc
    mov dword [S16_BASE + 0xfffc], SEL_DATA32
    o32 pop ss
    mov ebp, esp
    mov esp, STACK0_TOP
    CHECK32 ebp, 0x12340000, "pop ss (o32), 16-bit to 32-bit stack: esp"
    ; ---- POP SS: 32-bit stack -> 16-bit stack ----
    mov esp, 0xfffe
    mov word [0xfffe], SEL_S16
    o16 pop ss
    mov ebp, esp
    mov ax, SEL_DATA32
    mov ss, ax
    mov esp, STACK0_TOP
    CHECK32 ebp, 0x10000, "pop ss (o16), 32-bit to 16-bit stack: esp"
    mov esp, 0xfffc
    mov dword [0xfffc], SEL_S16
    o32 pop ss
    mov ebp, esp
    mov ax, SEL_DATA32
    mov ss, ax
    mov esp, STACK0_TOP
    CHECK32 ebp, 0x10000, "pop ss (o32), 32-bit to 16-bit stack: esp"
    ; ---- LSS ----
    mov esp, STACK0_TOP
    mov dword [RESULT], 0x9abcdef0          ; o32: offset dword, selector word
    mov word [RESULT + 4], SEL_DATA32
    mov word [RESULT + 8], 0x9ef0           ; o16: offset word, selector word
    mov word [RESULT + 10], SEL_DATA32
    mov ebp, esp
    mov esp, 0x12345678
    o16 lss sp, [RESULT + 8]
    xchg esp, ebp
    CHECK32 ebp, 0x12349ef0, "lss sp: only sp"
    mov ebp, esp
    lss esp, [RESULT]
    xchg esp, ebp
    CHECK32 ebp, 0x9abcdef0, "lss esp: all of esp"

    ; ---- INT n at CPL 0 on a 16-bit stack ----
    PRINT "stacksize: interrupts, call gates, far returns", 10
    mov ax, SEL_S16
    mov ss, ax
    mov esp, 0x5678fff0
    int 0x81                    ; the handler records its ESP at RESULT
    mov ebp, esp
    mov ax, SEL_DATA32
    mov ss, ax
    mov esp, STACK0_TOP
    CHECK32 [RESULT], 0x5678ffe4, "int at cpl 0 on a 16-bit stack: handler esp"
    CHECK32 ebp, 0x5678fff0, "iretd at cpl 0 on a 16-bit stack: esp"

    ; ---- INT n from CPL 3 to a 16-bit ring-0 stack, and IRETD back ----
    mov word [TSS_BASE + 8], SEL_S16           ; SS0
    mov dword [TSS_BASE + 4], 0xabcd1000       ; ESP0
    push dword SEL_S16_R3
    push dword 0x12340ffc
    push dword 0x202
    push dword SEL_CODE32_R3
    push dword ring3
    iretd

ring3:
    mov [ss:0x100], esp         ; (the 16-bit ring-3 stack, base 0x20000)
    mov ax, SEL_DATA32_R3
    mov ds, ax
    mov es, ax
    mov eax, [S16_R3_BASE + 0x100]
    mov [RESULT + 24], eax
    mov esp, 0x12340ffc
    int 0x80                    ; the handler records its ESP at RESULT + 4
    mov [RESULT + 8], esp       ; back on the 16-bit ring-3 stack
    mov esp, 0x12340ff0
    call SEL_CGATE:0            ; the handler records its ESP at RESULT + 12
    mov [RESULT + 20], esp      ; after its RETF to ring 3
    int 0x83                    ; back to ring 0

int80_handler:
    mov [RESULT + 4], esp
    iretd

int81_handler:
    mov [RESULT], esp
    iretd

cgate_handler:
    mov [RESULT + 12], esp
    retf

back_to_ring0:
    mov ax, SEL_DATA32
    mov ss, ax
    mov ds, ax
    mov es, ax
    mov esp, STACK0_TOP
    CHECK32 [RESULT + 24], 0x00000ffc, "iretd from esp 0x6fec to a 16-bit ring-3 stack: esp"
    CHECK32 [RESULT + 4], 0x12340fec, "int from cpl 3 to a 16-bit ss0: handler esp"
    CHECK32 [RESULT + 8], 0x12340ffc, "iretd to a 16-bit ring-3 stack: esp"
    CHECK32 [RESULT + 12], 0x12340ff0, "call gate to a 16-bit ss0: handler esp"
    CHECK32 [RESULT + 20], 0x12340ff0, "retf from the call gate to a 16-bit ring-3 stack: esp"

    ; ---- RETF 8 from ring 0 to a 16-bit ring-3 stack ----
    ; The ring-0 stack: SEL_WRAP, ESP 0x8765FFE8 (linear 0x3FFE8): EIP, CS,
    ; 8 bytes of parameters, ESP3, SS3.
    mov ebx, 0x3ffe8
    mov dword [ebx], ring3_after_retf
    mov dword [ebx + 4], SEL_CODE32_R3
    mov dword [ebx + 16], 0xabcd2000
    mov dword [ebx + 20], SEL_S16_R3
    mov ax, SEL_WRAP
    mov ss, ax
    mov esp, 0x8765ffe8
    retf 8

ring3_after_retf:
    mov ebx, esp
    mov ax, SEL_DATA32_R3
    mov ds, ax
    mov [RESULT + 16], ebx
    int 0x84

after_retf:
    mov ax, SEL_DATA32
    mov ss, ax
    mov ds, ax
    mov es, ax
    mov esp, STACK0_TOP
    CHECK32 [RESULT + 16], 0x87652008, "retf 8 to a 16-bit ring-3 stack: esp"

    ; ---- a task switch into a 16-bit TSS ----
    PRINT "stacksize: task switch to a 16-bit TSS", 10
    mov edi, TSS16_BASE
    xor eax, eax
    mov ecx, 0x2c / 2
    rep stosw
    mov word [TSS16_BASE + 0x0e], task16        ; IP
    mov word [TSS16_BASE + 0x10], 0x0002        ; FLAGS
    mov dword [TSS16_BASE + 0x12], 0x22221111   ; AX, CX
    mov dword [TSS16_BASE + 0x16], 0x44443333   ; DX, BX
    mov dword [TSS16_BASE + 0x1a], 0x55556000   ; SP, BP
    mov dword [TSS16_BASE + 0x1e], 0x77776666   ; SI, DI
    mov word [TSS16_BASE + 0x22], SEL_DATA32    ; ES
    mov word [TSS16_BASE + 0x24], SEL_CODE16    ; CS
    mov word [TSS16_BASE + 0x26], SEL_DATA16    ; SS
    mov word [TSS16_BASE + 0x28], SEL_DATA32    ; DS
    mov eax, 0x12345678
    mov ebx, eax
    mov ecx, eax
    mov edx, eax
    mov esi, eax
    mov edi, eax
    mov ebp, eax
    jmp SEL_TSS16:0

CODE16
task16:
    CHECK16 ax, 0x1111, "16-bit tss: ax"
    CHECK16 cx, 0x2222, "16-bit tss: cx"
    CHECK16 dx, 0x3333, "16-bit tss: dx"
    CHECK16 bx, 0x4444, "16-bit tss: bx"
    CHECK16 bp, 0x5555, "16-bit tss: bp"
    CHECK16 si, 0x6666, "16-bit tss: si"
    CHECK16 di, 0x7777, "16-bit tss: di"
%ifndef QEMU
    ; The upper halves: unspecified by the SDM (Vol 3A 7.6); all ones in Bochs
    ; 2.7, which vemu follows. QEMU 7.2 keeps the outgoing task's.
    CHECK32 eax, 0xffff1111, "16-bit tss: eax"
    CHECK32 ecx, 0xffff2222, "16-bit tss: ecx"
    CHECK32 edx, 0xffff3333, "16-bit tss: edx"
    CHECK32 ebx, 0xffff4444, "16-bit tss: ebx"
    CHECK32 ebp, 0xffff5555, "16-bit tss: ebp"
    CHECK32 esi, 0xffff6666, "16-bit tss: esi"
    CHECK32 edi, 0xffff7777, "16-bit tss: edi"
    mov eax, esp
    CHECK32 eax, 0xffff6000, "16-bit tss: esp"
%endif
    PASS
