; stack.asm: stack instructions.
;
; SDM Vol. 2B "PUSH", "POP", "PUSHA/PUSHAD", "POPA/POPAD", "PUSHF/PUSHFD", "POPF/POPFD",
; Vol. 2A "ENTER", "LEAVE"; Vol. 3A 3.4.5 (the B flag of a stack segment: 16-bit SP vs
; 32-bit ESP), Vol. 1 6.2 "Stacks".
;
; Real mode (SS=0, 16-bit SP):
;   PUSH/POP r16, r32 (66), imm8 (6A, sign-extended to a word; 66 6A to a dword),
;   imm16 (68), imm32 (66 68), m16, m32 (66); PUSH ES/CS/SS/DS/FS/GS and POP
;   ES/SS/DS/FS/GS (2 bytes; with 66: 4 bytes, only the low word of the slot checked);
;   PUSH SP (old value), POP SP, 66 PUSH ESP / POP ESP, POP [ESP] (address computed after
;   the increment), PUSH [ESP] (address computed before the decrement);
;   PUSHA/POPA (SP slot = old SP, skipped by POPA), PUSHAD/POPAD (66);
;   PUSHF/POPF (bit 1 reads 1, bits 3, 5, 15 read 0; IOPL/NT writable), 66 PUSHFD;
;   ENTER 16-bit with nesting levels 0, 1, 3 and LEAVE.
; 32-bit protected mode, 32-bit stack (SS.B=1):
;   the same with dwords; 66 PUSH/POP r16/imm/m16 (ESP +-2); segment registers pushed as
;   4 bytes (upper word of the slot not checked), 66 push as 2 bytes; POP SS/DS/ES/FS/GS,
;   a null selector popped into DS and ES; PUSH ESP, POP ESP, POP [ESP], PUSH [ESP];
;   PUSHAD/POPAD, PUSHA/POPA (66: upper halves untouched); PUSHFD/POPFD at CPL 0 (AC, ID,
;   IOPL, NT writable; VM, VIF, VIP unchanged; RF cleared; PUSHFD never shows VM/RF),
;   66 PUSHF; ENTER 32-bit with levels 0, 1, 3 (and 33 = level 1: the level is taken
;   mod 32), LEAVE, 66 LEAVE.
; 32-bit code with a 16-bit stack (SS = 16-bit data segment, B=0): PUSH/POP, CALL/RET,
;   PUSHAD/POPAD, ENTER level 0/1 (32 and 16-bit operand size), LEAVE, 66 LEAVE use and
;   update SP only, the upper half of ESP is kept, SP wraps from 0 to FFFE. A 32-bit ENTER
;   sets EBP to FrameTemp = ESP (SDM ENTER operation: "IF OperandSize = 32 THEN
;   Push(EBP); FrameTemp <- ESP"), a 16-bit one only BP.
;
; Note: the CHECK macros push two dwords, so they only ever read stack memory at or above
; ESP.
; Not tested: stack faults (#SS) - see exceptions.asm; upper word of a segment push.
%include "rom.inc"

; CHECK_ESP expected, "what": ESP as it is before the macro (kept in the last scratch dword)
%macro CHECK_ESP 2+
    mov [VAR_SCRATCH+0xbc], esp
    CHECK32 [VAR_SCRATCH+0xbc], %1, %2
%endmacro

T   equ 0x6800              ; stack top used by the tests (below STACK0_TOP)
R   equ 0x10000             ; results saved while SS is a 16-bit segment

CODE16
main:
    PRINT "stack: real mode", 10
    mov esp, T

    ; ---------------- registers, immediates, memory ----------------
    mov ax, 0x1234
    push ax
    CHECK_ESP T - 2, "push r16: sp"
    CHECK16 [T-2], 0x1234, "push r16: value"
    pop bx
    CHECK_ESP T, "pop r16: sp"
    CHECK16 bx, 0x1234, "pop r16: value"
    mov eax, 0x89abcdef
    push eax
    CHECK_ESP T - 4, "66 push r32: sp"
    CHECK32 [T-4], 0x89abcdef, "66 push r32: value"
    pop ecx
    CHECK_ESP T, "66 pop r32: sp"
    CHECK32 ecx, 0x89abcdef, "66 pop r32: value"
    mov dword [T-4], 0x55555555
    push byte -2                    ; 6A: sign-extended to a word
    CHECK_ESP T - 2, "push imm8: sp"
    CHECK16 [T-2], 0xfffe, "push imm8: word 0xfffe"
    push strict word 0x8001         ; 68 iw
    CHECK_ESP T - 4, "push imm16: sp"
    CHECK16 [T-4], 0x8001, "push imm16: value"
    mov esp, T
    push dword -3                   ; 66 6A: sign-extended to a dword
    CHECK_ESP T - 4, "66 push imm8: sp"
    CHECK32 [T-4], 0xfffffffd, "66 push imm8: dword"
    push strict dword 0x12345678    ; 66 68 id
    CHECK_ESP T - 8, "66 push imm32: sp"
    CHECK32 [T-8], 0x12345678, "66 push imm32: value"
    mov esp, T
    mov dword [VAR_SCRATCH], 0xfeedbeef
    push word [VAR_SCRATCH]
    CHECK_ESP T - 2, "push m16: sp"
    pop word [VAR_SCRATCH+4]
    CHECK_ESP T, "pop m16: sp"
    CHECK16 [VAR_SCRATCH+4], 0xbeef, "push/pop m16"
    push dword [VAR_SCRATCH]
    CHECK_ESP T - 4, "66 push m32: sp"
    pop dword [VAR_SCRATCH+8]
    CHECK_ESP T, "66 pop m32: sp"
    CHECK32 [VAR_SCRATCH+8], 0xfeedbeef, "66 push/pop m32"

    ; ---------------- segment registers ----------------
    mov ax, 0x1111
    mov es, ax
    mov ax, 0x2222
    mov fs, ax
    mov ax, 0x3333
    mov gs, ax
    push es
    push cs
    push ss
    push ds
    push fs
    push gs
    CHECK_ESP T - 12, "push sreg: 2 bytes each"
    CHECK16 [T-2], 0x1111, "push es"
    CHECK16 [T-4], 0xf000, "push cs"
    CHECK16 [T-6], 0, "push ss"
    CHECK16 [T-8], 0, "push ds"
    CHECK16 [T-10], 0x2222, "push fs"
    CHECK16 [T-12], 0x3333, "push gs"
    mov word [T-2], 0x4444
    mov word [T-10], 0x5555
    mov word [T-12], 0x6666
    pop es                          ; 0x6666 (gs slot)
    pop ds                          ; 0x5555 (fs slot)
    pop ax                          ; ds slot
    pop ss                          ; 0 (ss slot)
    pop fs                          ; 0xf000 (cs slot)
    pop gs                          ; 0x4444 (es slot)
    mov bx, ds
    xor ax, ax
    mov ds, ax
    CHECK_ESP T, "pop sreg: 2 bytes each"
    CHECK16 bx, 0x5555, "pop ds"
    CHECK_SEG es, 0x6666, "pop es"
    CHECK_SEG ss, 0, "pop ss"
    CHECK_SEG fs, 0xf000, "pop fs"
    CHECK_SEG gs, 0x4444, "pop gs"
    mov dword [T-4], 0xaaaaaaaa
    o32 push fs                     ; 66 0F A0: 4 bytes, low word = FS
    CHECK_ESP T - 4, "66 push fs: sp"
    CHECK16 [T-4], 0xf000, "66 push fs: low word"
    mov dword [T-4], 0x77770123
    o32 pop gs                      ; 66 0F A9: 4 bytes, GS = low word
    CHECK_ESP T, "66 pop gs: sp"
    CHECK_SEG gs, 0x0123, "66 pop gs"
    xor ax, ax
    mov es, ax
    mov fs, ax
    mov gs, ax

    ; ---------------- PUSH SP / POP SP / [ESP] operands ----------------
    push sp                         ; the value before the push
    CHECK16 [T-2], T, "push sp: old value"
    CHECK_ESP T - 2, "push sp: sp"
    mov esp, T
    push strict word 0x6900
    pop sp                          ; SP = popped value
    CHECK_ESP 0x6900, "pop sp"
    mov esp, T
    push esp                        ; 66 54
    CHECK32 [T-4], T, "66 push esp: old value"
    mov dword [T-4], 0x00006a00
    pop esp
    CHECK_ESP 0x6a00, "66 pop esp"
    mov esp, T
    push strict word 0x1111
    push strict word 0x2222
    pop word [esp]                  ; 67 8F: [esp] computed after the increment
    CHECK_ESP T - 2, "pop [esp]: sp"
    CHECK16 [T-2], 0x2222, "pop [esp]: stored at the new sp"
    mov word [T-4], 0x5555
    push word [esp]                 ; 67 FF /6: [esp] computed before the decrement
    CHECK_ESP T - 4, "push [esp]: sp"
    CHECK16 [T-4], 0x2222, "push [esp]: the old top"
    mov esp, T
    push strict dword 0x11111111
    push strict dword 0x22222222
    pop dword [esp+4]               ; 66 67 8F: [esp+4] after the increment = T
    CHECK_ESP T - 4, "66 pop [esp+4]: sp"
    CHECK32 [T], 0x22222222, "66 pop [esp+4]: address after the increment"
    CHECK32 [T-4], 0x11111111, "66 pop [esp+4]: the other slot untouched"
    mov esp, T

    ; ---------------- PUSHA / POPA, PUSHAD / POPAD ----------------
    mov eax, 0xa0a00001
    mov ecx, 0xc0c00002
    mov edx, 0xd0d00003
    mov ebx, 0xb0b00004
    mov ebp, 0xe0e00005
    mov esi, 0x50500006
    mov edi, 0xd1d10007
    pusha
    CHECK_ESP T - 16, "pusha: sp"
    CHECK16 [T-2], 0x0001, "pusha: ax"
    CHECK16 [T-4], 0x0002, "pusha: cx"
    CHECK16 [T-6], 0x0003, "pusha: dx"
    CHECK16 [T-8], 0x0004, "pusha: bx"
    CHECK16 [T-10], T, "pusha: sp before the pusha"
    CHECK16 [T-12], 0x0005, "pusha: bp"
    CHECK16 [T-14], 0x0006, "pusha: si"
    CHECK16 [T-16], 0x0007, "pusha: di"
    mov word [T-10], 0x1234         ; the SP slot is skipped by POPA
    mov eax, 0x11111111
    mov ecx, eax
    mov edx, eax
    mov ebx, eax
    mov ebp, eax
    mov esi, eax
    mov edi, eax
    popa
    CHECK_ESP T, "popa: sp"
    CHECK32 eax, 0x11110001, "popa: ax (upper half kept)"
    CHECK32 ecx, 0x11110002, "popa: cx"
    CHECK32 ebx, 0x11110004, "popa: bx"
    CHECK32 esi, 0x11110006, "popa: si"
    CHECK32 edi, 0x11110007, "popa: di"
    mov eax, ebp
    CHECK32 eax, 0x11110005, "popa: bp"
    mov eax, edx
    CHECK32 eax, 0x11110003, "popa: dx"
    mov eax, 0xa0a00001
    mov ecx, 0xc0c00002
    mov edx, 0xd0d00003
    mov ebx, 0xb0b00004
    mov ebp, 0xe0e00005
    mov esi, 0x50500006
    mov edi, 0xd1d10007
    pushad
    CHECK_ESP T - 32, "pushad: sp"
    CHECK32 [T-4], 0xa0a00001, "pushad: eax"
    CHECK32 [T-16], 0xb0b00004, "pushad: ebx"
    CHECK32 [T-20], T, "pushad: esp before"
    CHECK32 [T-32], 0xd1d10007, "pushad: edi"
    mov dword [T-20], 0x12345678
    xor eax, eax
    xor ecx, ecx
    xor edx, edx
    xor ebx, ebx
    xor ebp, ebp
    xor esi, esi
    xor edi, edi
    popad
    CHECK_ESP T, "popad: sp (slot skipped)"
    CHECK32 ecx, 0xc0c00002, "popad: ecx"
    CHECK32 edi, 0xd1d10007, "popad: edi"
    mov eax, edx
    CHECK32 eax, 0xd0d00003, "popad: edx"
    mov eax, ebp
    CHECK32 eax, 0xe0e00005, "popad: ebp"

    ; ---------------- PUSHF / POPF ----------------
    push strict word 0xfcff         ; all but TF and IF
    popf
    pushf
    pop ax
    push strict word 0x0000         ; (DF=0 again before any check prints)
    popf
    CHECK16 ax, 0x7cd7, "popf ffff-tf-if / pushf (bits 1,3,5,15 fixed)"
    push strict word 0x0000
    popf
    pushf
    CHECK16 [T-2], 0x0002, "popf 0 / pushf"
    CHECK_ESP T - 2, "pushf: sp"
    pop ax
    push strict word FL_CF | FL_OF
    popf
    pushfd                          ; 66 9C: 4 bytes
    CHECK_ESP T - 4, "66 pushfd: sp"
    CHECK32 [T-4], FL_CF | FL_OF | 2, "66 pushfd: value"
    popfd
    CHECK_ESP T, "66 popfd: sp"

    ; ---------------- ENTER / LEAVE (16-bit) ----------------
    mov esp, T
    mov ebp, 0x12346900             ; BP = 0x6900: a caller's frame with a display below
    mov word [0x68fe], 0xd111
    mov word [0x68fc], 0xd222
    enter 8, 0
    CHECK32 ebp, 0x12340000 + T - 2, "enter 8,0: bp = old sp - 2 (upper half kept)"
    CHECK_ESP T - 2 - 8, "enter 8,0: sp"
    CHECK16 [T-2], 0x6900, "enter 8,0: old bp pushed"
    leave
    CHECK_ESP T, "leave: sp"
    CHECK32 ebp, 0x12346900, "leave: bp popped"
    enter 8, 1
    CHECK32 ebp, 0x12340000 + T - 2, "enter 8,1: bp"
    CHECK_ESP T - 4 - 8, "enter 8,1: sp"
    CHECK16 [T-2], 0x6900, "enter 8,1: old bp"
    CHECK16 [T-4], T - 2, "enter 8,1: frame pointer pushed"
    leave
    CHECK_ESP T, "leave after enter 8,1: sp"
    enter 8, 3
    CHECK32 ebp, 0x12340000 + T - 2, "enter 8,3: bp"
    CHECK_ESP T - 8 - 8, "enter 8,3: sp"
    CHECK16 [T-2], 0x6900, "enter 8,3: old bp"
    CHECK16 [T-4], 0xd111, "enter 8,3: display [bp-2]"
    CHECK16 [T-6], 0xd222, "enter 8,3: display [bp-4]"
    CHECK16 [T-8], T - 2, "enter 8,3: frame pointer"
    leave
    CHECK_ESP T, "leave after enter 8,3: sp"
    CHECK32 ebp, 0x12346900, "leave after enter 8,3: bp"

    ENTER_PM32 pm_main

CODE32
pm_main:
    PRINT "stack: protected mode, 32-bit stack", 10
    mov esp, T
    ; ---------------- registers, immediates, memory ----------------
    mov eax, 0x89abcdef
    push eax
    CHECK_ESP T - 4, "pm push r32: esp"
    CHECK32 [T-4], 0x89abcdef, "pm push r32: value"
    pop ecx
    CHECK_ESP T, "pm pop r32: esp"
    CHECK32 ecx, 0x89abcdef, "pm pop r32: value"
    mov dword [T-4], 0x55555555
    push ax                         ; 66 50
    CHECK_ESP T - 2, "pm 66 push r16: esp"
    CHECK16 [T-2], 0xcdef, "pm 66 push r16: value"
    mov ebx, 0xffffffff
    pop bx
    CHECK_ESP T, "pm 66 pop r16: esp"
    CHECK32 ebx, 0xffffcdef, "pm 66 pop r16: upper half kept"
    push byte -2                    ; 6A: dword
    CHECK_ESP T - 4, "pm push imm8: esp"
    CHECK32 [T-4], 0xfffffffe, "pm push imm8: sign-extended to a dword"
    push strict dword 0x80000001
    CHECK32 [T-8], 0x80000001, "pm push imm32"
    mov esp, T
    mov dword [T-4], 0x55555555
    push word -3                    ; 66 6A: word
    CHECK_ESP T - 2, "pm 66 push imm8: esp"
    CHECK16 [T-2], 0xfffd, "pm 66 push imm8: word"
    push strict word 0x4321         ; 66 68 iw
    CHECK_ESP T - 4, "pm 66 push imm16: esp"
    CHECK16 [T-4], 0x4321, "pm 66 push imm16: value"
    mov esp, T
    mov dword [VAR_SCRATCH], 0xfeedbeef
    mov ebx, VAR_SCRATCH
    push dword [ebx]
    pop dword [ebx+4]
    CHECK32 [VAR_SCRATCH+4], 0xfeedbeef, "pm push/pop m32"
    push word [ebx+2]
    CHECK_ESP T - 2, "pm 66 push m16: esp"
    pop word [ebx+8]
    CHECK16 [VAR_SCRATCH+8], 0xfeed, "pm 66 push/pop m16"
    CHECK_ESP T, "pm 66 pop m16: esp"

    ; ---------------- segment registers ----------------
    mov ax, SEL_DATA16
    mov fs, ax
    mov dword [T-4], 0xaaaaaaaa
    mov dword [T-8], 0xaaaaaaaa
    push cs
    CHECK_ESP T - 4, "pm push cs: 4 bytes"
    CHECK16 [T-4], SEL_CODE32, "pm push cs: low word"
    push fs
    CHECK_ESP T - 8, "pm push fs: 4 bytes"
    CHECK16 [T-8], SEL_DATA16, "pm push fs: low word"
    mov esp, T
    push ss
    push ds
    push es
    push gs
    CHECK_ESP T - 16, "pm push ss/ds/es/gs"
    CHECK16 [T-4], SEL_DATA32, "pm push ss"
    CHECK16 [T-16], SEL_DATA32, "pm push gs"
    mov dword [T-4], SEL_DATA16     ; for ss
    mov dword [T-8], 0xffff0000     ; null selector for ds (upper word ignored)
    mov dword [T-12], 0             ; null for es
    mov dword [T-16], SEL_DATA16    ; for gs
    pop gs
    pop es
    pop ds
    pop ss
    mov ax, ds
    mov cx, es
    mov si, ss
    mov bx, SEL_DATA32
    mov ds, bx
    mov es, bx
    mov ss, bx
    CHECK_ESP T, "pm pop sreg: 4 bytes each"
    CHECK16 ax, 0, "pm pop ds: null selector"
    CHECK16 cx, 0, "pm pop es: null selector"
    CHECK16 si, SEL_DATA16, "pm pop ss"
    CHECK_SEG gs, SEL_DATA16, "pm pop gs"
    mov dword [T-4], 0xaaaaaaaa
    o16 push ds                     ; 66 1E: 2 bytes
    CHECK_ESP T - 2, "pm 66 push ds: esp"
    CHECK16 [T-2], SEL_DATA32, "pm 66 push ds: value"
    mov word [T-2], SEL_DATA32
    o16 pop fs                      ; 66 0F A1
    CHECK_ESP T, "pm 66 pop fs: esp"
    CHECK_SEG fs, SEL_DATA32, "pm 66 pop fs"
    mov gs, bx

    ; ---------------- PUSH ESP / POP ESP / [ESP] ----------------
    push esp
    CHECK32 [T-4], T, "pm push esp: old value"
    CHECK_ESP T - 4, "pm push esp: esp"
    mov dword [T-4], 0x6a00
    pop esp
    CHECK_ESP 0x6a00, "pm pop esp: esp = popped value"
    mov esp, T
    push strict dword 0x11111111
    push strict dword 0x22222222
    pop dword [esp]                 ; address computed after the increment
    CHECK_ESP T - 4, "pm pop [esp]: esp"
    CHECK32 [T-4], 0x22222222, "pm pop [esp]: stored at the new esp"
    mov dword [T-8], 0x55555555
    push dword [esp]                ; address computed before the decrement
    CHECK_ESP T - 8, "pm push [esp]: esp"
    CHECK32 [T-8], 0x22222222, "pm push [esp]: the old top"
    mov esp, T
    push sp                         ; 66 54: 2 bytes, the old SP
    CHECK16 [T-2], T, "pm 66 push sp"
    CHECK_ESP T - 2, "pm 66 push sp: esp"
    mov esp, T

    ; ---------------- PUSHAD / POPAD, PUSHA / POPA ----------------
    mov eax, 0xa0a00001
    mov ecx, 0xc0c00002
    mov edx, 0xd0d00003
    mov ebx, 0xb0b00004
    mov ebp, 0xe0e00005
    mov esi, 0x50500006
    mov edi, 0xd1d10007
    pushad
    CHECK_ESP T - 32, "pm pushad: esp"
    CHECK32 [T-4], 0xa0a00001, "pm pushad: eax"
    CHECK32 [T-8], 0xc0c00002, "pm pushad: ecx"
    CHECK32 [T-12], 0xd0d00003, "pm pushad: edx"
    CHECK32 [T-16], 0xb0b00004, "pm pushad: ebx"
    CHECK32 [T-20], T, "pm pushad: esp before"
    CHECK32 [T-24], 0xe0e00005, "pm pushad: ebp"
    CHECK32 [T-28], 0x50500006, "pm pushad: esi"
    CHECK32 [T-32], 0xd1d10007, "pm pushad: edi"
    mov dword [T-20], 0x12345678
    xor eax, eax
    xor ecx, ecx
    xor edx, edx
    xor ebx, ebx
    xor ebp, ebp
    xor esi, esi
    xor edi, edi
    popad
    CHECK_ESP T, "pm popad: esp (slot skipped)"
    CHECK32 eax, 0xa0a00001, "pm popad: eax"
    CHECK32 ecx, 0xc0c00002, "pm popad: ecx"
    CHECK32 ebx, 0xb0b00004, "pm popad: ebx"
    CHECK32 esi, 0x50500006, "pm popad: esi"
    CHECK32 edi, 0xd1d10007, "pm popad: edi"
    mov eax, edx
    CHECK32 eax, 0xd0d00003, "pm popad: edx"
    mov eax, ebp
    CHECK32 eax, 0xe0e00005, "pm popad: ebp"
    mov eax, 0xa0a00001
    pushaw                          ; 66 60: 16 bytes
    CHECK_ESP T - 16, "pm 66 pusha: esp"
    CHECK16 [T-2], 0x0001, "pm 66 pusha: ax"
    CHECK16 [T-10], T, "pm 66 pusha: sp"
    CHECK16 [T-16], 0x0007, "pm 66 pusha: di"
    mov dword [T-16], 0x00090009    ; di=9, si=9
    mov eax, 0x11111111
    mov edi, eax
    mov esi, eax
    popaw                           ; 66 61
    CHECK_ESP T, "pm 66 popa: esp"
    CHECK32 eax, 0x11110001, "pm 66 popa: ax, upper half kept"
    CHECK32 edi, 0x11110009, "pm 66 popa: di"
    CHECK32 esi, 0x11110009, "pm 66 popa: si"

    ; ---------------- PUSHFD / POPFD ----------------
    push strict dword 0xfffffcff    ; all but TF and IF
    popfd
    pushfd
    pop eax
    push strict dword 0             ; (DF=0 again before any check prints)
    popfd
    CHECK32 eax, 0x00247cd7, "pm popfd ffffffff-tf-if: vm/rf/vif/vip/reserved unchanged"
    push strict dword FL_RF | FL_VM | FL_CF
    popfd
    pushfd
    pop eax
    CHECK32 eax, FL_CF | 2, "pm popfd rf/vm: ignored"
    push strict dword 0
    popfd
    pushfd
    pop eax
    CHECK32 eax, 2, "pm popfd 0"
    push strict dword FL_CF
    popfd
    pushfw                          ; 66 9C: 2 bytes
    CHECK_ESP T - 2, "pm 66 pushf: esp"
    CHECK16 [T-2], 0x0003, "pm 66 pushf: value"
    mov word [T-2], FL_ZF
    popfw                           ; 66 9D
    CHECK_FLAGS FL_ARITH, FL_ZF, "pm 66 popf: flags"
    CHECK_ESP T, "pm 66 popf: esp"

    ; ---------------- ENTER / LEAVE (32-bit) ----------------
    mov ebp, 0x6900
    mov dword [0x68fc], 0xd1111111
    mov dword [0x68f8], 0xd2222222
    enter 12, 0
    CHECK32 ebp, T - 4, "pm enter 12,0: ebp"
    CHECK_ESP T - 4 - 12, "pm enter 12,0: esp"
    CHECK32 [T-4], 0x6900, "pm enter 12,0: old ebp"
    leave
    CHECK_ESP T, "pm leave: esp"
    CHECK32 ebp, 0x6900, "pm leave: ebp"
    enter 12, 1
    CHECK32 ebp, T - 4, "pm enter 12,1: ebp"
    CHECK_ESP T - 8 - 12, "pm enter 12,1: esp"
    CHECK32 [T-4], 0x6900, "pm enter 12,1: old ebp"
    CHECK32 [T-8], T - 4, "pm enter 12,1: frame pointer"
    leave
    CHECK_ESP T, "pm leave after 12,1: esp"
    enter 12, 3
    CHECK32 ebp, T - 4, "pm enter 12,3: ebp"
    CHECK_ESP T - 16 - 12, "pm enter 12,3: esp"
    CHECK32 [T-4], 0x6900, "pm enter 12,3: old ebp"
    CHECK32 [T-8], 0xd1111111, "pm enter 12,3: display [ebp-4]"
    CHECK32 [T-12], 0xd2222222, "pm enter 12,3: display [ebp-8]"
    CHECK32 [T-16], T - 4, "pm enter 12,3: frame pointer"
    leave
    CHECK_ESP T, "pm leave after 12,3: esp"
    CHECK32 ebp, 0x6900, "pm leave after 12,3: ebp"
    enter 4, 33                     ; level mod 32 = 1
    CHECK_ESP T - 8 - 4, "pm enter 4,33: level 1"
    CHECK32 [T-8], T - 4, "pm enter 4,33: frame pointer"
    leave
    mov ebp, 0xabcd6900
    enter 6, 0
    mov ebx, ebp
    mov dword [T-4], 0xaaaa6900
    o16 leave                       ; 66 C9: ESP = EBP, BP = pop (16 bits)
    CHECK32 ebx, T - 4, "pm enter: ebp"
    CHECK_ESP T - 2, "pm 66 leave: esp"
    CHECK32 ebp, 0x6900, "pm 66 leave: bp popped"
    mov esp, T

    ; ---------------- 16-bit stack segment in 32-bit code ----------------
    PRINT "stack: 32-bit code, 16-bit stack", 10
    mov dword [0xfffc], 0x99999999
    mov dword [T-8], 0x99999999
    mov ax, SEL_DATA16
    mov ss, ax
    mov esp, 0xabcd0000 | T
    mov eax, 0x13572468
    push eax                        ; SS:SP-4
    mov [R+0], esp
    mov ecx, [T-4]
    mov [R+0x50], ecx
    pop ebx
    mov [R+4], esp
    mov [R+8], ebx
    call .near16                    ; pushes EIP (4 bytes) at SS:SP
.r16:
    mov [R+0x10], esp
    pushad
    mov [R+0x14], esp
    popad
    mov [R+0x18], esp
    mov ebp, 0x55556900
    enter 8, 0                      ; EBP = ESP - 4 (FrameTemp = ESP), SP -= 4 + 8
    mov [R+0x20], ebp
    mov [R+0x24], esp
    leave                           ; SP = BP, EBP = pop
    mov [R+0x28], ebp
    mov [R+0x2c], esp
    enter 8, 1
    mov [R+0x30], ebp
    mov [R+0x34], esp
    leave
    mov [R+0x38], esp
    mov ebp, 0x55556900
    o16 enter 4, 1                  ; 16-bit operand: push BP, BP = SP, push BP, SP -= 4
    mov [R+0x48], ebp
    mov [R+0x4c], esp
    mov ecx, [T-4]
    mov [R+0x58], ecx
    o16 leave                       ; SP = BP, BP = pop
    mov [R+0x5c], ebp
    mov [R+0x60], esp
    mov esp, 0xabcd0000             ; SP = 0: wraps to FFFE
    push ax
    mov [R+0x40], esp
    pop cx
    mov [R+0x44], esp
    mov ax, SEL_DATA32
    mov ss, ax
    mov esp, T - 0x40               ; the checks push below ESP: keep T-8..T intact
    CHECK32 [R+0], 0xabcd0000 | (T - 4), "16-bit stack push: sp only"
    CHECK32 [R+0x50], 0x13572468, "16-bit stack push: value at ss:sp"
    CHECK32 [R+4], 0xabcd0000 | T, "16-bit stack pop: sp only"
    CHECK32 [R+8], 0x13572468, "16-bit stack pop: value"
    CHECK32 [R+0xc], 0xabcd0000 | (T - 4), "16-bit stack call: sp"
    CHECK32 [R+0x54], .r16, "16-bit stack call: pushed eip"
    CHECK32 [R+0x10], 0xabcd0000 | T, "16-bit stack ret: sp"
    CHECK32 [R+0x14], 0xabcd0000 | (T - 32), "16-bit stack pushad: sp"
    CHECK32 [R+0x18], 0xabcd0000 | T, "16-bit stack popad: sp"
    ; ENTER with a 32-bit operand size: FrameTemp = ESP, EBP = FrameTemp (SDM ENTER
    ; operation); only SP moves (16-bit stack), so EBP gets ESP's upper half
    CHECK32 [R+0x20], 0xabcd0000 | (T - 4), "16-bit stack enter 8,0: ebp = esp after the push"
    CHECK32 [R+0x24], 0xabcd0000 | (T - 4 - 8), "16-bit stack enter 8,0: sp"
    CHECK32 [R+0x28], 0x55556900, "16-bit stack leave: ebp popped"
    CHECK32 [R+0x2c], 0xabcd0000 | T, "16-bit stack leave: sp"
    CHECK32 [R+0x30], 0xabcd0000 | (T - 4), "16-bit stack enter 8,1: ebp"
    CHECK32 [R+0x34], 0xabcd0000 | (T - 8 - 8), "16-bit stack enter 8,1: sp"
    CHECK32 [T-8], 0xabcd0000 | (T - 4), "16-bit stack enter 8,1: frame pointer"
    CHECK32 [R+0x38], 0xabcd0000 | T, "16-bit stack leave after 8,1: sp"
    CHECK32 [R+0x48], 0x55550000 | (T - 2), "16-bit stack 66 enter 4,1: only bp written"
    CHECK32 [R+0x4c], 0xabcd0000 | (T - 4 - 4), "16-bit stack 66 enter 4,1: sp"
    CHECK32 [R+0x58], (0x6900 << 16) | (T - 2), "16-bit stack 66 enter 4,1: bp and frame pointer pushed"
    CHECK32 [R+0x5c], 0x55556900, "16-bit stack 66 leave: bp popped"
    CHECK32 [R+0x60], 0xabcd0000 | T, "16-bit stack 66 leave: sp"
    CHECK32 [R+0x40], 0xabcdfffe, "16-bit stack push at sp=0: wraps to fffe"
    CHECK16 [0xfffe], 0x2468, "16-bit stack push at sp=0: written at ss:fffe"
    CHECK32 [R+0x44], 0xabcd0000, "16-bit stack pop at fffe: sp wraps to 0"
    CHECK16 cx, 0x2468, "16-bit stack pop at fffe: value"
    PASS

.near16:
    mov [R+0xc], esp
    mov ecx, [T-4]
    mov [R+0x54], ecx
    ret
