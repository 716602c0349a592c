<?php
// Azerbaijani: the terms of the backend's catalogue (docs/translations.md).
return [
    'This article is for members.' => 'Bu məqalə üzvlər üçündür.',
    'Your membership does not include this article.' => 'Üzvlüyünüz bu məqaləni əhatə etmir.',
    'Members read every article in full, and keep our journalism independent.' => 'Üzvlər bütün məqalələri tam oxuyur və jurnalistikamızın müstəqilliyini qoruyur.',
    'Become a member' => 'Üzv olun',
    'Already a member?' => 'Artıq hesabınız var?',
    'Sign in' => 'Daxil olun',
    'Fundraiser progress' => 'Kampaniyanın gedişatı',
];
